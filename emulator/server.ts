import { serve } from '@hono/node-server'
import type { AddressInfo } from 'node:net'
import { createEmulatorApp } from './app.ts'
import type { EmulatorOptions } from './state.ts'

export interface RunningEmulator {
  url: string
  port: number
  close(): Promise<void>
}

/** Starts the emulator on 127.0.0.1 (port 0 picks a free one). */
export function startEmulator(
  options: EmulatorOptions & { port: number; hostname?: string },
): Promise<RunningEmulator> {
  const { app } = createEmulatorApp(options)
  const hostname = options.hostname ?? '127.0.0.1'
  return new Promise((resolve, reject) => {
    const server = serve(
      { fetch: app.fetch, port: options.port, hostname },
      (info: AddressInfo) => {
        resolve({
          url: `http://${hostname}:${info.port}`,
          port: info.port,
          close: () =>
            new Promise((done) => {
              server.close(() => done())
              // Keep-alive sockets would hold close() open; end them.
              ;(server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.()
            }),
        })
      },
    )
    server.once('error', reject)
  })
}
