// Make the kernel's start-up memory snapshot at site build time (Node >= 18).
//
//   node make-snapshot.mjs <site>/static/pyodide/ '<kernel packages as JSON>' <out.gz>
//
// The snapshot is the WebAssembly heap of a Pyodide that has loaded the
// kernel's packages and imported what the worker imports at start
// (`piplite.piplite`, `pyodide_kernel` with its IPython shell, the runtime).
// The worker restores it instead of doing all that again (see worker.ts).
// Prints one JSON line: {modules, heapBytes, fileBytes, ms}.
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';

const [indexDir, packagesJson, outFile] = process.argv.slice(2);
const indexURL = indexDir.endsWith('/') ? indexDir : `${indexDir}/`;
const packages = JSON.parse(packagesJson);
const t0 = performance.now();
const { loadPyodide } = await import(pathToFileURL(`${indexURL}pyodide.mjs`).href);

const pyodide = await loadPyodide({ indexURL, _makeSnapshot: true });
const failures = [];
await pyodide.loadPackage(packages, {
  messageCallback: () => undefined,
  errorCallback: (message) => failures.push(message),
});
if (failures.length) {
  throw new Error(`could not load the kernel's packages: ${failures.join('; ')}`);
}
pyodide.runPython(`
import piplite.piplite, pyodide_kernel, jupyterlite_stream.runtime

# importlib.metadata caches a zipfile.Path, with an open file, of every zip on
# sys.path it searched; objects waiting for the cycle collector (a ZipFile,
# say) would be freed after the restore and close files that no longer exist
import gc, importlib
importlib.invalidate_caches()
gc.collect()
`);
// Files stay open in JavaScript (Emscripten's FS), not in the heap: a restored
// kernel would hold descriptors that point nowhere.
const open = pyodide.FS.streams.flatMap((stream, fd) => (stream && fd > 2 ? [stream.path] : []));
if (open.length) {
  throw new Error(`files still open at snapshot time: ${open.join(', ')}`);
}
// The package list is JavaScript state, not heap: the worker loads the
// packages' files again after the restore (the file system is not in the heap).
for (const name of Object.keys(pyodide.loadedPackages)) {
  delete pyodide.loadedPackages[name];
}
const modules = pyodide.runPython('import sys; len(sys.modules)');
const heap = pyodide.makeMemorySnapshot({ serializer: pyodideReference });
const file = gzipSync(heap, { level: 6 });
writeFileSync(outFile, file);
console.log(
  JSON.stringify({
    modules,
    heapBytes: heap.length,
    fileBytes: file.length,
    ms: Math.round(performance.now() - t0),
  }),
);

/**
 * Python holds a few JavaScript objects after these imports: Pyodide's API
 * object (the `pyodide_js` module) and some of its functions, which micropip
 * and pyodide_kernel import. They are saved by name; the worker hands back
 * the same members of the restored Pyodide. Anything else cannot be saved.
 */
function pyodideReference(value) {
  if (value === pyodide) {
    return { pyodide: '' };
  }
  for (const [owner, table] of [
    ['pyodide', pyodide],
    ['api', pyodide._api],
  ]) {
    const name = Object.getOwnPropertyNames(table).find((key) => {
      try {
        return table[key] === value;
      } catch {
        return false; // a getter that throws out of context
      }
    });
    if (name) {
      return { [owner]: name };
    }
  }
  throw new Error(`Python holds a JavaScript object that cannot be saved: ${String(value)}`);
}
