/**
 * The 6-digit field of the code pages (emailed codes and authenticator codes): numeric keypad on
 * phones, one-time-code autofill, focus on arrival.
 */
export const CodeInput = (props: { describedBy?: string }) => (
  <input
    id="code"
    name="code"
    type="text"
    inputmode="numeric"
    autocomplete="one-time-code"
    pattern="[0-9]{6}"
    maxlength={6}
    minlength={6}
    required
    autofocus
    {...(props.describedBy && { 'aria-describedby': props.describedBy })}
  />
)
