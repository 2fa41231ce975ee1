// Make the kernel's start-up snapshot at site build time (Node >= 18).
//
//   node make-snapshot.mjs <site>/static/pyodide/ '<kernel packages as JSON>' <out.gz>
//
// The snapshot holds the WebAssembly heap of a Pyodide that has loaded the
// kernel's packages and imported what the worker imports at start
// (`piplite.piplite`, `pyodide_kernel` with its IPython shell, the runtime
// with its state module); the worker restores it instead of doing all that
// again (see worker.ts). The file system is not part of the heap, so the
// files the packages installed go along in the same file (gzip of):
//
//   'JLSNAP01' | index length (u32 LE) | index JSON | files | padding | heap
//
// index: {files: [[path, size], ...], packages: {name: channel}, heap: size};
// the heap starts at a multiple of 16 bytes.
// Prints one JSON line: {modules, files, heapBytes, fileBytes, ms}.
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';

const [indexDir, packagesJson, outFile] = process.argv.slice(2);
const indexURL = indexDir.endsWith('/') ? indexDir : `${indexDir}/`;
const packages = JSON.parse(packagesJson);
const t0 = performance.now();
const { loadPyodide } = await import(pathToFileURL(`${indexURL}pyodide.mjs`).href);

// A browser-like start: Emscripten takes the program name (sys.executable,
// $_) from process.argv[1] under Node, which is this script's path on the
// build machine; in a browser it is './this.program'. LANG is the one
// Chromium's en-US gives (the worker sets the browser's own at restore).
// Nothing from process.env reaches Pyodide.
process.argv.length = 1;
const pyodide = await loadPyodide({
  indexURL,
  _makeSnapshot: true,
  env: { HOME: '/home/pyodide', LANG: 'en_US.UTF-8' },
});
const failures = [];
await pyodide.loadPackage(packages, {
  messageCallback: () => undefined,
  errorCallback: (message) => failures.push(message),
});
if (failures.length) {
  throw new Error(`could not load the kernel's packages: ${failures.join('; ')}`);
}
const files = installedFiles(pyodide._api.sitepackages);
const loaded = { ...pyodide.loadedPackages };

pyodide.runPython(`
import piplite.piplite, pyodide_kernel, jupyterlite_stream.runtime
import jupyterlite_stream.runtime.state  # imported by runtime.install()
# a student's first Stop draws the kernel's first traceback: without this
# warm-up it takes half a second of lazy imports and tables
from jupyterlite_stream.runtime import tracebacks
tracebacks.install_fast_tracebacks()
tracebacks.warm_up(pyodide_kernel.ipython_shell)

# importlib.metadata caches a zipfile.Path, with an open file, of every zip on
# sys.path it searched; objects waiting for the cycle collector (a ZipFile,
# say) would be freed after the restore and close files that no longer exist
import gc, importlib
# micropip copied the lock file's base URL (the output folder on this
# machine): the worker sets the site's own at restore
import micropip._compat as _mc, micropip._compat._compat_in_pyodide as _mci
_mc.lockfile_base_url = _mci.lockfileBaseUrl = ''
_mci.CompatibilityInPyodide.lockfile_base_url = ''
importlib.invalidate_caches()
gc.collect()
`, { globals: pyodide.toPy({}) });  // not in __main__: the user's namespace stays as it was
// Files stay open in JavaScript (Emscripten's FS), not in the heap: a restored
// kernel would hold descriptors that point nowhere.
const open = pyodide.FS.streams.flatMap((stream, fd) => (stream && fd > 2 ? [stream.path] : []));
if (open.length) {
  throw new Error(`files still open at snapshot time: ${open.join(', ')}`);
}
// The package list is JavaScript state too: Pyodide wants it empty in a
// snapshot; the worker fills it in again.
for (const name of Object.keys(pyodide.loadedPackages)) {
  delete pyodide.loadedPackages[name];
}
const modules = pyodide.runPython('import sys; len(sys.modules)');
const heap = pyodide.makeMemorySnapshot({ serializer: pyodideReference });
const file = gzipSync(pack(files, loaded, heap), { level: 6 });
writeFileSync(outFile, file);
console.log(
  JSON.stringify({
    modules,
    files: files.length,
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

/**
 * Every file under `root` as [path, bytes]. Compiled extensions would need
 * Pyodide's dynamic loader after the restore: the kernel's packages have none.
 */
function installedFiles(root) {
  const found = [];
  const walk = (dir) => {
    for (const name of pyodide.FS.readdir(dir)) {
      if (name === '.' || name === '..') {
        continue;
      }
      const path = `${dir}/${name}`;
      if (pyodide.FS.isDir(pyodide.FS.stat(path).mode)) {
        walk(path);
      } else if (/\.so(\.|$)/.test(name)) {
        throw new Error(`a kernel package has a compiled extension: ${path}`);
      } else {
        found.push([path, pyodide.FS.readFile(path)]);
      }
    }
  };
  walk(root);
  return found;
}

/**
 * The layout described at the top of this file.
 */
function pack(files, packages, heap) {
  const encoder = new TextEncoder();
  const index = encoder.encode(
    JSON.stringify({
      files: files.map(([path, data]) => [path, data.length]),
      packages,
      heap: heap.length,
    }),
  );
  const end = 12 + index.length + files.reduce((sum, [, data]) => sum + data.length, 0);
  const heapAt = Math.ceil(end / 16) * 16;
  const out = new Uint8Array(heapAt + heap.length);
  out.set(encoder.encode('JLSNAP01'), 0);
  new DataView(out.buffer).setUint32(8, index.length, true);
  out.set(index, 12);
  let at = 12 + index.length;
  for (const [, data] of files) {
    out.set(data, at);
    at += data.length;
  }
  out.set(heap, heapAt);
  return out;
}
