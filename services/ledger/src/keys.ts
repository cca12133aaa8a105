/**
 * Ledger signing keys: `node services/ledger/dist/keys.js rotate <file>` creates the key file or
 * puts a new current key in front of the old ones (kept as public keys only, so heads they
 * signed stay verifiable). Restart the ledger replicas to sign with the new key.
 */
import { rotateKeyFile } from './signing/signing-keys.js';

const [command, file] = process.argv.slice(2);
if (command !== 'rotate' || !file) {
  process.stderr.write('Usage: node services/ledger/dist/keys.js rotate <key-file.json>\n');
  process.exit(2);
}
const kid = await rotateKeyFile(file);
process.stdout.write(`${file}: new current key ${kid}\n`);
