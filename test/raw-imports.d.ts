// Vite's `?raw` imports: a file's text, for tests that check committed configuration.
declare module '*?raw' {
  const text: string
  export default text
}

// Vite's `import.meta.glob`, for tests that read the source tree (eager, one export each).
interface ImportMeta {
  glob(
    pattern: string | string[],
    options: { query: string; import: string; eager: true },
  ): Record<string, unknown>
}
