// Access policies (ACCESS): compile once per isolate, then per request checkPath → matchRoute →
// decide (or evaluate, which does both). Pure: nothing here touches Hono, KV or the network.
export { routeAudience } from './audience.ts'
export { compileAccess } from './compile.ts'
export { compilePublicPaths, forwardAuthRoute, parsePublicPaths } from './public-paths.ts'
export { requestFacts } from './facts.ts'
export { decide, dependsOnMethod, evaluate, matchRoute } from './decide.ts'
export { ipInRange, parseIp, parseIpRange, type IpAddress, type IpRange } from './ip.ts'
export { lintAccess, shadows } from './lint.ts'
export { lintSignInHost } from './lint-sign-in-host.ts'
export {
  decideMethods,
  isOverrideName,
  overrideMethods,
  overrideRoutedElsewhere,
  overrideValuesIn,
  queryOverrides,
  type OverrideMethods,
} from './overrides.ts'
export {
  checkPath,
  entryPathOf,
  isGatewayPath,
  normaliseHost,
  type HostPattern,
  type PathCheck,
  type PathPattern,
} from './paths.ts'
export * from './types.ts'
