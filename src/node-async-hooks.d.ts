// workerd provides node:async_hooks' AsyncLocalStorage under the `nodejs_als` compatibility flag;
// the Workers types do not declare it, so the little the gateway uses is declared here.
declare module 'node:async_hooks' {
  export class AsyncLocalStorage<T> {
    getStore(): T | undefined
    run<R>(store: T, callback: () => R): R
  }
}
