// Which rooms have push targets, as a worker last learned: rooms without any spare every send a claim statement.

/** Rooms with targets, as last read (refreshed at each sweep, added to at once when a target is made here). */
export class RoomHint {
  private rooms = new Set<string>()
  constructor(private readonly load: () => Promise<string[]>) {}
  has = (roomId: string) => this.rooms.has(roomId)
  add = (roomId: string) => void this.rooms.add(roomId)
  refresh = async () => {
    this.rooms = new Set(await this.load())
  }
}
