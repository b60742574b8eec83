import type { Config } from './types'
import { problemList, type Checked, type Settings } from './settings'

/** How the gateway's pages look: PRODUCT_NAME and ACCENT_COLOR. */
export function checkPages(e: Settings): Checked<Pick<Config, 'productName' | 'accentColor'>> {
  const { problems, fail } = problemList()
  const accentColor = (e.ACCENT_COLOR ?? '#4f46e5').trim()
  if (!/^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(accentColor))
    fail('ACCENT_COLOR', 'must be a hex colour such as #4f46e5')
  return {
    value: { productName: (e.PRODUCT_NAME ?? '').trim() || 'this site', accentColor },
    problems,
  }
}
