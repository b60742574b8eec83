// Every audit action the gateway records, `gateway.<noun>.<verb>`: an operator registers one
// schema per action in the WorkOS dashboard (README "Audit trail" lists what each carries).
export const AUDIT_ACTIONS = [
  'gateway.sign_in.succeeded',
  'gateway.sign_in.failed',
  'gateway.sign_out.succeeded',
  'gateway.session.ended',
  'gateway.access.denied',
  'gateway.access.first_allowed',
  'gateway.mfa.enrolled',
  'gateway.mfa.reset',
  'gateway.service_token.created',
  'gateway.service_token.revoked',
  'gateway.oauth_grant.issued',
  'gateway.oauth_grant.revoked',
  'gateway.admin_api.called',
] as const

export type AuditAction = (typeof AUDIT_ACTIONS)[number]
