/**
 * How recent a sign-in must be (minutes) to enrol a second factor. Whoever holds a first-factor
 * session of a person with no factor could otherwise enrol their own authenticator (trust on
 * first use) and keep the second factor to themselves: a cookie stolen later is older than this.
 * The person who just signed in has the time to scan a QR code and type one code.
 */
export const MFA_ENROL_MAX_SIGN_IN_AGE_MINUTES = 10
