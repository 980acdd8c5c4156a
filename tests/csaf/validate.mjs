// Checks CSAF 2.0 documents with the BSI validator library: the strict schema test and every mandatory test
// (CSAF 2.0 §6.1); with the argument `2.1`, CSAF 2.1 documents against the library's 2.1 strict schema and 2.1
// mandatory tests. Reads a JSON array of documents on stdin; prints, per document, the failed tests with their
// errors as a JSON array (empty: the document passed). Run with NODE_PATH naming the node_modules that holds
// @secvisogram/csaf-validator-lib (scripts/test.sh installs it from package.json beside this file).
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const root = process.env.CSAF_VALIDATOR_NODE_MODULES
if (!root) {
  console.error('CSAF_VALIDATOR_NODE_MODULES is not set')
  process.exit(2)
}
const lib = (file) => import(pathToFileURL(path.join(root, '@secvisogram/csaf-validator-lib', file)).href)
const validate = (await lib('validate.js')).default
const tests =
  process.argv[2] === '2.1'
    ? [
        (await lib('csaf_2_1/schemaTests.js')).csaf_2_1_strict,
        ...Object.values(await lib('csaf_2_1/mandatoryTests.js')),
      ]
    : [(await lib('schemaTests.js')).csaf_2_0_strict, ...Object.values(await lib('mandatoryTests.js'))]

let input = ''
for await (const chunk of process.stdin) input += chunk
const documents = JSON.parse(input)
const out = []
for (const doc of documents) {
  const result = await validate(tests, doc)
  out.push(result.tests.filter((t) => !t.isValid).map((t) => ({ name: t.name, errors: t.errors })))
}
console.log(JSON.stringify(out))
