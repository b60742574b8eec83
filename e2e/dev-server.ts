import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

// Starts `npm run dev` (the launcher itself, on this Node) on free loopback ports, and stops
// everything it started: the launcher's process group holds wrangler, workerd, the emulator and
// the demo origin.

export interface DevServer {
  url: string
  emulatorUrl: string
  stop(): Promise<void>
}

// Ports handed out by this process, each to one server only.
const handedOut = new Set<number>()

/**
 * A port for a server this process is about to start. Chosen below Linux's ephemeral range
 * (32768–60999 by default), where the kernel picks ports for `listen(0)` and for outgoing
 * connections: a port from there could be taken by wrangler's or workerd's own listeners, or by
 * a load generator's connections, before our server binds it (the bench once saw another process
 * answer on the bare Worker's port). Never the same port twice in one process.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000)
    if (handedOut.has(port)) continue
    handedOut.add(port)
    if (await canListen(port)) return port
  }
  throw new Error('no free port between 20000 and 32000')
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

async function waitFor(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`npm run dev exited with ${child.exitCode}`)
    try {
      const response = await fetch(url)
      if (response.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`)
}

export async function startDevServer(extraArgs: string[] = []): Promise<DevServer> {
  const [port, inspector, emulatorPort, originPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ])
  const launcher = fileURLToPath(new URL('../scripts/dev.ts', import.meta.url))
  // Each server keeps its local KV and limits in its own folder: two wrangler dev processes
  // sharing .wrangler/state would contend for it, and a developer's own state stays untouched.
  const state = mkdtempSync(join(tmpdir(), 'gateway-e2e-'))
  const child = spawn(
    process.execPath,
    [
      launcher,
      '--port',
      String(port),
      '--ip',
      '127.0.0.1',
      '--inspector-port',
      String(inspector),
      '--persist-to',
      state,
      ...extraArgs,
    ],
    {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: {
        ...process.env,
        EMULATOR_PORT: String(emulatorPort),
        DEMO_ORIGIN_PORT: String(originPort),
      },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const url = `http://127.0.0.1:${port}`
  try {
    await waitFor(`${url}/healthz`, child, 60_000)
  } catch (error) {
    process.kill(-child.pid!, 'SIGKILL')
    throw new Error(`${String(error)}\n${output.slice(-3000)}`)
  }
  return {
    url,
    emulatorUrl: `http://127.0.0.1:${emulatorPort}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        const force = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL')
          } catch {
            // already gone
          }
        }, 10_000)
        child.once('exit', () => {
          clearTimeout(force)
          rmSync(state, { recursive: true, force: true })
          // Anything of the group still alive (workerd) goes too.
          try {
            process.kill(-child.pid!, 'SIGKILL')
          } catch {
            // already gone
          }
          resolve()
        })
        process.kill(-child.pid!, 'SIGTERM')
      }),
  }
}
