/**
 * Writes the native API's OpenAPI 3.1 document to docs/openapi.json (`npm run openapi`): what `GET /v1/openapi.json`
 * serves, so run it after changing a route, a request schema or a response shape (a unit test fails until then).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { openapiDocument } from '../functions/api/openapi.js';

export const DOCUMENT_PATH = new URL('../docs/openapi.json', import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export const generatedDocument = () => openapiDocument(version);

if (import.meta.url === `file://${process.argv[1]}`) {
  // CI checks the document as committed (test/unit/api/openapi.test.ts): its install's build must not rewrite it first.
  if (process.env.CI) console.log('CI: docs/openapi.json left as committed');
  else {
    writeFileSync(DOCUMENT_PATH, `${JSON.stringify(generatedDocument(), null, 2)}\n`);
    console.log(`wrote ${DOCUMENT_PATH.pathname}`);
  }
}
