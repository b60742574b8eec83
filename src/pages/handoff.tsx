import { raw } from 'hono/html'
import { Layout } from './layout'

/**
 * The one script a gateway page runs: it posts the handoff form as soon as the page loads (a
 * person without scripts presses the button). Its SHA-256 is the page's whole script-src.
 */
export const HANDOFF_SUBMIT_SCRIPT = 'document.forms[0].submit()'
export const HANDOFF_SUBMIT_SCRIPT_HASH = 'sha256-ePniVEkSivX/c7XWBGafqh8tSpiRrKiqYeqbG7N1TOE='

/**
 * On the sign-in host: carries the one-time code to the app host in a form post, never in a URL.
 * The app host takes the code only from a post whose Origin is the sign-in host, which no page
 * of an origin's can produce: the sign-in host serves none.
 */
export function HandoffPage(props: { productName: string; action: string; code: string }) {
  return (
    <Layout title={`Signing in · ${props.productName}`}>
      <h1>Signing you in</h1>
      <form method="post" action={props.action}>
        <input type="hidden" name="code" value={props.code} />
        <button type="submit" autofocus>
          Continue to {new URL(props.action).host}
        </button>
      </form>
      <script>{raw(HANDOFF_SUBMIT_SCRIPT)}</script>
    </Layout>
  )
}
