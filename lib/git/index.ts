// Git Smart HTTP for bare repositories, without the git binary.
export { advertiseV0, advertiseV2 } from './advertise.ts';
export type { Service } from './advertise.ts';
export { uploadPackV0, uploadPackV2 } from './upload-pack.ts';
export { receivePack } from './receive-pack.ts';
export type { ReceiveOptions } from './receive-pack.ts';
export { openRepo, deleteRepo } from './repo.ts';
export type { Repo } from './repo.ts';
export { summarizePush } from './push-summary.ts';
export { withLocalLock } from './lock.ts';
export { DEFAULT_LIMITS } from './index-pack.ts';
export type { PackLimits } from './index-pack.ts';
export { ProtocolError } from './pktline.ts';
