import type { AppContext } from '../app-env'
import { AuditPage } from '../pages/audit'
import { auditLogSchema, type ReceivedAuditEvent } from './audit-schema'
import { readEmulator } from './emulator'

// The dev audit log: the audit events the emulator accepted at POST /audit_logs/events, newest
// first, read from its /__audit_logs route (dev only). ?action= and ?organization_id= filter.

async function readAuditLog(c: AppContext): Promise<ReceivedAuditEvent[]> {
  const query = new URLSearchParams()
  for (const name of ['action', 'organization_id']) {
    const value = c.req.query(name)
    if (value) query.set(name, value)
  }
  const path = `/__audit_logs${query.size ? `?${query}` : ''}`
  return (await readEmulator(c, path, auditLogSchema, 'audit log')).events
}

export async function auditJson(c: AppContext) {
  return c.json({ events: await readAuditLog(c) })
}

export async function auditPage(c: AppContext) {
  return c.html(AuditPage({ events: await readAuditLog(c) }))
}
