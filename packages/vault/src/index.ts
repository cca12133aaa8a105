export { VaultIntegrityError, VaultSubjectErasedError } from './errors.js';
export { generateMasterKey, type MasterKey, type MasterKeyRing, parseMasterKeys } from './master-keys.js';
export { createVault, type Vault, type VaultDb, type VaultOptions, type VaultRead, type VaultSubjectStatus } from './vault.js';
export { rotateMasterKey, type RotationReport, vaultSchemas } from './rotation.js';
