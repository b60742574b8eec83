// The one stylesheet of the gateway's pages, served from STYLESHEET_PATH so the CSP needs no
// 'unsafe-inline'. The accent colour (ACCENT_COLOR, validated as a hex colour) is set here.
export const stylesheet = (accent: string) => `
:root { --accent: ${accent}; color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; padding: 1rem;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #f4f4f6; color: #1c1c22; }
.card { width: 100%; max-width: 26rem; background: #fff; border-radius: 12px; padding: 2rem;
  box-shadow: 0 1px 3px rgba(0,0,0,.08), 0 8px 24px rgba(0,0,0,.06); }
h1 { font-size: 1.4rem; margin: 0 0 .5rem; }
p { margin: .5rem 0 1rem; color: #4a4a55; }
label { display: block; font-weight: 600; margin: 1rem 0 .35rem; }
input[type=email], input[type=text] { width: 100%; font: inherit; padding: .65rem .75rem;
  border: 1px solid #c9c9d1; border-radius: 8px; }
input:focus-visible, button:focus-visible, a:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
button { width: 100%; margin-top: 1rem; font: inherit; font-weight: 600; padding: .7rem; border: 0;
  border-radius: 8px; background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); border: 1px solid var(--accent); }
.notice { padding: .65rem .75rem; border-radius: 8px; }
.notice-error { background: #fdecec; color: #8a1c1c; }
.notice-info { background: #eef2ff; color: #2f2a7a; }
.muted { font-size: .875rem; color: #6b6b76; }
table { width: 100%; border-collapse: collapse; font-size: .875rem; }
th, td { text-align: left; padding: .4rem; border-bottom: 1px solid #ececf0; vertical-align: top; overflow-wrap: anywhere; }
.sessions { list-style: none; padding: 0; margin: 1rem 0; }
.sessions li { display: flex; gap: .75rem; align-items: center; justify-content: space-between;
  padding: .75rem 0; border-bottom: 1px solid #ececf0; }
.sessions .muted { overflow-wrap: anywhere; }
button.small { width: auto; margin: 0; padding: .4rem .8rem; font-size: .875rem; white-space: nowrap; }
.badge { display: inline-block; margin-left: .5rem; padding: 0 .4rem; border-radius: 4px;
  font-size: .75rem; background: #eef2ff; color: #2f2a7a; }
code { font-size: 1rem; }
`
