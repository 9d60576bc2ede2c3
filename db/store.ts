/** The room service's `Store` on SQL: the room, membership, message, search, push and wait-task queries over one database. */
import { KeyedMutex } from './mutex.ts'
import type { Store } from '../lib/store.ts'
import { a2aTaskQueries } from './a2a-tasks.ts'
import { agentQueries } from './agents.ts'
import { leaseQueries } from './leases.ts'
import type { Database } from './database.ts'
import { messageQueries } from './messages.ts'
import { pushStore } from './push.ts'
import { roomQueries } from './rooms.ts'
import { receiptQueries } from './receipts.ts'
import { searchQueries } from './search.ts'
import { taskPushQueries } from './task-push.ts'
import { waitTaskStore } from './wait-tasks.ts'

export function sqlStore(db: Database): Store {
  const locks = new KeyedMutex()
  return {
    kind: db.kind,
    ...roomQueries(db),
    ...agentQueries(db),
    ...messageQueries(db),
    ...pushStore(db),
    ...waitTaskStore(db),
    ...searchQueries(db),
    ...receiptQueries(db),
    ...leaseQueries(db),
    ...a2aTaskQueries(db),
    ...taskPushQueries(db),
    withLock: (key, fn) => locks.run(key, () => db.withAdvisoryLock(key, fn)),
    async ping() {
      await db.query('SELECT 1')
    },
    close: () => db.close(),
  }
}
