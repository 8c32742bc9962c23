// Writes the brotli (.br, quality 11) and gzip (.gz, level 9) twins of each file named on the
// command line, as the server serves them (server/src/http/assets.rs). Node's zlib does both,
// so the build needs no further tool.
import { readFileSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

for (const file of process.argv.slice(2)) {
  const bytes = readFileSync(file);
  writeFileSync(`${file}.br`, brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  }));
  writeFileSync(`${file}.gz`, gzipSync(bytes, { level: 9 }));
}
