// A room's bare repository: where it lives, creation on first use and a small cache of open object stores.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { ObjectStore } from './odb.ts'

export class Repo {
  readonly odb: ObjectStore
  /** Requests using this repository; its files are closed only when none are. */
  users = 0
  evicted = false
  constructor(readonly dir: string) {
    this.odb = new ObjectStore(join(dir, 'objects'))
  }

  /** Ends one request's use (pairs with openRepo). */
  release(): void {
    this.users--
    if (this.evicted && this.users <= 0) this.odb.close()
    else if (this.users <= 0) this.odb.closeRetired()
  }
}

/** Where a room's bare repository lives: the one place its path is built. */
export function repoPath(reposDir: string, roomId: string): string {
  return join(reposDir, `${roomId}.git`)
}

const CONFIG = '[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n'

/** Creates a bare repository with HEAD -> refs/heads/main unless it exists. */
function initRepo(dir: string): void {
  if (existsSync(join(dir, 'HEAD'))) return
  const tmp = `${dir}.init-${randomBytes(6).toString('hex')}`
  mkdirSync(dirname(dir), { recursive: true })
  for (const d of ['objects/pack', 'objects/info', 'refs/heads', 'refs/tags']) mkdirSync(join(tmp, d), { recursive: true })
  writeFileSync(join(tmp, 'HEAD'), 'ref: refs/heads/main\n')
  writeFileSync(join(tmp, 'config'), CONFIG)
  writeFileSync(join(tmp, 'description'), 'Convene room repository\n')
  try {
    renameSync(tmp, dir)
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true })
    if (!existsSync(join(dir, 'HEAD'))) throw err
  }
}

const open = new Map<string, Repo>()
const MAX_OPEN = 32

/** Opens (creating if needed) a repository for one request; call `release()` when done. */
export function openRepo(dir: string): Repo {
  let repo = open.get(dir)
  if (repo) {
    open.delete(dir)
  } else {
    initRepo(dir)
    repo = new Repo(dir)
  }
  open.set(dir, repo)
  repo.users++
  for (const [k, r] of open) {
    if (open.size <= MAX_OPEN) break
    open.delete(k)
    r.evicted = true
    if (r.users <= 0) r.odb.close()
  }
  repo.odb.refresh()
  return repo
}

/** Lets this process's open copy of a repository notice packs removed under it (after a prune). */
export function refreshOpen(dir: string): void {
  const repo = open.get(dir)
  if (!repo) return
  repo.odb.refresh()
  if (repo.users <= 0) repo.odb.closeRetired()
}

/** Deletes a repository from disk (room expiry). */
export function deleteRepo(dir: string): void {
  const repo = open.get(dir)
  if (repo) {
    repo.evicted = true
    if (repo.users <= 0) repo.odb.close()
  }
  open.delete(dir)
  rmSync(dir, { recursive: true, force: true })
}
