// The dev mailbox of a `npm run dev` server (/__dev/mailbox.json), as the browser tests read it.

/**
 * The sign-in code mailed to `email` on the dev server at `base`, waiting up to 5 s for it: the
 * gateway may send after answering, as a person's inbox would receive it a moment later.
 */
export async function codeFromMailbox(base: string, email: string): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const response = await fetch(`${base}/__dev/mailbox.json?to=${encodeURIComponent(email)}`)
    const { messages } = (await response.json()) as { messages: { code: string | null }[] }
    const code = messages.find((message) => message.code)?.code
    if (code) return code
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`no code was mailed to ${email}`)
}
