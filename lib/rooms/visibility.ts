// Who may see a message: the one rule every surface applies (the store's SQL says the same in its VISIBLE clause).

/** A broadcast is visible to everyone in the room; a direct message only to its sender and its recipient. */
export function canSee(m: { fromId: string | null; toId: string | null }, agentId: string | null): boolean {
  return m.toId === null || (agentId !== null && (m.toId === agentId || m.fromId === agentId))
}
