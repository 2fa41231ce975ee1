/**
 * What Pyodide decides about the browser while it starts, put back after a
 * snapshot restore.
 *
 * Two of those decisions are written into wasm memory: CPython's call
 * trampoline (a wasm-gc function when the runtime can compile one, else a
 * JavaScript one) and `pyodide.ffi.run_sync` (the real one when the runtime
 * has JSPI, else a stub raising "WebAssembly stack switching not
 * supported"). Restoring a snapshot copies the whole heap over them, so a
 * kernel restored from the build's snapshot, made under Node, kept Node's
 * answers: `run_sync` refused in Chromium, and with it urllib3's fetch
 * (`requests`), and every C call went through a JavaScript frame, which JSPI
 * cannot suspend. A fresh kernel in the same browser has both. Each fix is
 * applied only when the memory holds exactly what was expected; anything else
 * is left as it is.
 */

/**
 * The runtime's own choices, noted while Pyodide starts and written back
 * after the snapshot's heap replaced them.
 */
export class StartupChoices {
  /**
   * Run Pyodide's start-up, noting the trampoline CPython compiles (the
   * export of a small wasm module it instantiates for that).
   */
  async during<T>(start: () => Promise<T>): Promise<T> {
    const { Instance } = WebAssembly;
    const seen = this._trampolines;
    WebAssembly.Instance = new Proxy(Instance, {
      construct(target, args, newTarget) {
        const instance = Reflect.construct(target, args, newTarget);
        const trampoline = instance.exports?.trampoline_call;
        if (typeof trampoline === 'function') {
          seen.push(trampoline);
        }
        return instance;
      },
    });
    try {
      return await start();
    } finally {
      WebAssembly.Instance = Instance;
    }
  }

  /**
   * Write this runtime's choices over the snapshot's.
   *
   * @returns what was put back, for the console.
   */
  reapply(pyodide: any): string[] {
    const module = pyodide._module;
    const done: string[] = [];
    if (Private.restoreTrampoline(module, this._trampolines)) {
      done.push('the wasm call trampoline');
    }
    if (module.jspiSupported && Private.restoreRunSync(pyodide)) {
      done.push('run_sync (JSPI)');
    }
    return done;
  }

  private _trampolines: ((...args: any[]) => any)[] = [];
}

namespace Private {
  /**
   * Point `_PyRuntime.emscripten_trampoline` back at the wasm-gc trampoline
   * the runtime compiled and added to the function table during start-up.
   */
  export function restoreTrampoline(module: any, trampolines: any[]): boolean {
    const table: WebAssembly.Table = module.wasmTable;
    const offset = module.HEAP32[module.__PyEM_EMSCRIPTEN_TRAMPOLINE_OFFSET / 4];
    const slot = (module.__PyRuntime + offset) / 4;
    if (!trampolines.length || module.HEAP32[slot] !== 0) {
      return false; // no wasm-gc here, or the snapshot's choice stands
    }
    const index = tableIndexOf(table, trampolines[trampolines.length - 1]);
    if (index < 0) {
      return false;
    }
    module.HEAP32[slot] = index;
    return true;
  }

  /**
   * Swap the stub `run_sync` for the real one in the method table of
   * `_pyodide_core` (which `pyodide.ffi` re-exports).
   */
  export function restoreRunSync(pyodide: any): boolean {
    const module = pyodide._module;
    const table: WebAssembly.Table = module.wasmTable;
    const address: number = pyodide.runPython(
      'import _pyodide_core; id(_pyodide_core.run_sync)',
    );
    // PyCFunctionObject.m_ml follows the two-word object header (wasm32);
    // PyMethodDef is {ml_name, ml_meth, ...}
    const methodDef = module.HEAPU32[(address + 8) / 4];
    const meth = methodDef / 4 + 1;
    const isStub =
      module.UTF8ToString(module.HEAPU32[methodDef / 4]) === 'run_sync' &&
      table.get(module.HEAPU32[meth]) === module._run_sync_not_supported;
    const index = isStub ? tableIndexOf(table, module._run_sync) : -1;
    if (index < 0) {
      return false;
    }
    module.HEAPU32[meth] = index;
    return true;
  }

  /**
   * Where `fn` sits in the function table, or -1 (functions added at start-up
   * are near the end, C functions whose address is taken anywhere).
   */
  function tableIndexOf(table: WebAssembly.Table, fn: unknown): number {
    for (let i = table.length - 1; i > 0; i--) {
      if (table.get(i) === fn) {
        return i;
      }
    }
    return -1;
  }
}
