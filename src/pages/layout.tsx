import type { Child } from 'hono/jsx'

export const STYLESHEET_PATH = '/auth/assets/gateway.css'

export function Layout(props: { title: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{props.title}</title>
        <link rel="stylesheet" href={STYLESHEET_PATH} />
      </head>
      <body>
        <main class="card">{props.children}</main>
      </body>
    </html>
  )
}

export function Notice(props: { kind: 'error' | 'info'; children: Child }) {
  return (
    <p class={`notice notice-${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'}>
      {props.children}
    </p>
  )
}
