/**
 * The kernel's Web Worker: Pyodide, the IPython shell of
 * `pyodide_kernel`, and the in-kernel runtime of `jupyterlite_stream`.
 *
 * One bridge in both page modes: comlink over postMessage for requests, and,
 * on cross-origin isolated pages, one shared Int32Array for interrupts only.
 * (The stock coincident bridge can leave cells busy forever here.)
 */
import { expose, transfer } from 'comlink';

import { URLExt } from '@jupyterlab/coreutils';
import { KernelMessage } from '@jupyterlab/services';
import type { IPyodideWorkerKernel } from '@jupyterlite/pyodide-kernel/lib/tokens';
import { PyodideRemoteKernel } from '@jupyterlite/pyodide-kernel/lib/worker';

import { Boot } from './boot';
import { InterruptSignal } from './interrupt';
import { StartupChoices } from './startupchoices';

/**
 * The options the page hands to the worker at start.
 */
export interface IStreamWorkerOptions extends IPyodideWorkerKernel.IOptions {
  /**
   * The interrupt signal's memory, or null when the page is not isolated.
   */
  interruptBuffer: SharedArrayBuffer | null;

  /**
   * The packages loaded in one `loadPackage` call at start, from the site's
   * own Pyodide lock file (no micropip resolution, no network).
   */
  kernelPackages: string[];

  /**
   * The start-up memory snapshot made at build time, or null: Pyodide
   * restored from it has IPython imported already.
   */
  snapshotUrl: string | null;

  /**
   * The site's bound on one cell's output (see runtime/output_limit.py).
   */
  outputLimit?: Record<string, number | null>;
}

/**
 * The calls the page makes on the worker, beside the stock kernel requests.
 */
export interface IStreamWorkerKernel {
  prepare(options: IStreamWorkerOptions): Promise<void>;
  initialize(options: IStreamWorkerOptions): Promise<void>;
  interruptAwait(): Promise<boolean>;
  exportState(signingKey: string | null): Promise<IStateFile>;
  previewState(data: Uint8Array, signingKey: string | null): Promise<string>;
  restoreState(
    data: Uint8Array,
    trust: boolean,
    signingKey: string | null,
  ): Promise<string>;
  checkpoint(options: ICheckpointRequest): Promise<ICheckpointResult>;
  fingerprint(): string;
  lastCellStart(): number;
}

/**
 * What the page asks of an automatic checkpoint.
 */
export interface ICheckpointRequest {
  signingKey: string | null;
  /** The fingerprint of the last checkpoint: unchanged states are skipped. */
  previous: string | null;
  /** Larger state files are not checkpointed (null: no cap). */
  maxBytes: number | null;
}

/**
 * What came of an automatic checkpoint.
 *
 * - `written`: `data` is the state file, as Export makes it;
 * - `unchanged`: the state is the one of the last checkpoint;
 * - `too-large`: the state file is over the cap (`summary.size` says how large);
 * - `cancelled`: a cell run cut it short.
 */
export interface ICheckpointResult {
  status: 'written' | 'unchanged' | 'too-large' | 'cancelled';
  data: Uint8Array | null;
  /** JSON text: variables, databases, files, size, skipped. */
  summary: string;
  fingerprint: string | null;
  /** When it was cut short (ms since the epoch, this worker's clock). */
  cancelledAt?: number;
}

/**
 * An exported state file and its report (JSON text).
 */
export interface IStateFile {
  data: Uint8Array;
  report: string;
}

/**
 * The worker side of the kernel.
 */
export class StreamRemoteKernel
  extends PyodideRemoteKernel
  implements IStreamWorkerKernel
{
  constructor() {
    super();
    // plain postMessage in a shape comlink ignores (as the stock comlink
    // worker), stamped with the Stops seen so far: the page drops output that
    // was sent before a Stop it has not shown yet
    this._sendWorkerMessage = (msg: any) =>
      postMessage({
        _kernelMessage: msg,
        stops: InterruptSignal.stopsIn(this._signal),
      });
    this._logMessage = (msg: any) => postMessage({ _logMessage: msg });
  }

  /**
   * Start Pyodide, the kernel's packages and imports before the page asks
   * for a kernel (see `StreamKernel.prestart`); `initialize` then only does
   * what belongs to one kernel (its drive folder, its globals).
   */
  async prepare(options: IStreamWorkerOptions): Promise<void> {
    await this._bootOnce(options);
  }

  async initialize(options: IStreamWorkerOptions): Promise<void> {
    this._browsingContextId = options.browsingContextId;
    try {
      await super.initialize(options);
    } catch (error) {
      if (!this._restored) {
        throw error;
      }
      // a snapshot that does not fit this site must not cost the kernel
      console.warn(
        '[jupyterlite-stream] the kernel did not start from the snapshot, starting without it:',
        error,
      );
      this._booting = null;
      const withoutSnapshot: IStreamWorkerOptions = { ...options, snapshotUrl: null };
      await super.initialize(withoutSnapshot);
    }
    this._phases?.mark('kernel ready');
  }

  /**
   * Pyodide, the packages and the kernel's imports: done by `prepare` when
   * the page started this worker early, else here.
   */
  protected async initRuntime(options: IStreamWorkerOptions): Promise<void> {
    await this._bootOnce(options);
  }

  protected async initPackageManager(): Promise<void> {
    // done while booting
  }

  private _bootOnce(options: IStreamWorkerOptions): Promise<void> {
    if (!this._booting) {
      this._signal = options.interruptBuffer
        ? new Int32Array(options.interruptBuffer)
        : null;
      this._polled = this._signal ? InterruptSignal.pollView(this._signal) : null;
      this._phases = new Private.PhaseLog();
      this._booting = this._boot(options);
    }
    return this._booting;
  }

  private async _boot(options: IStreamWorkerOptions): Promise<void> {
    const snapshot = await this._startRuntime(options);
    this._restored = snapshot !== null;
    await this._setUpPackages(options, snapshot);
    await this._importKernel();
  }

  /**
   * @returns the snapshot Pyodide was restored from, or null.
   */
  private async _startRuntime(
    options: IStreamWorkerOptions,
  ): Promise<Private.ISnapshot | null> {
    const snapshot = options.snapshotUrl ? await this._restoreSnapshot(options) : null;
    if (!snapshot) {
      await super.initRuntime(options);
      this._phases?.mark('pyodide loaded');
    }
    // the signal reaches Python only while a cell's own code runs (see arm)
    return snapshot;
  }

  /**
   * Start Pyodide from the build's memory snapshot.
   *
   * @returns the snapshot, or null when that failed (the kernel then starts
   * the long way).
   */
  private async _restoreSnapshot(
    options: IStreamWorkerOptions,
  ): Promise<Private.ISnapshot | null> {
    const snapshot = Private.fetchSnapshot(options.snapshotUrl!);
    const heap = snapshot.then((read) => read.heap);
    const loadPyodideOptions = {
      ...options.loadPyodideOptions,
      _loadSnapshot: heap,
      _snapshotDeserializer: (saved: Private.ISavedReference) =>
        Private.pyodideMember(saved, () => this._pyodide),
    };
    const choices = new StartupChoices();
    try {
      await Private.withMemoryFor(heap, () =>
        choices.during(() => super.initRuntime({ ...options, loadPyodideOptions })),
      );
    } catch (error) {
      console.warn(
        '[jupyterlite-stream] the start-up snapshot could not be used, starting without it:',
        error,
      );
      return null;
    }
    this._phases?.mark('pyodide restored from snapshot');
    // the snapshot was made under Node: put back what this browser has
    const reapplied = choices.reapply(this._pyodide);
    if (reapplied.length) {
      console.info(
        '[jupyterlite-stream] after the snapshot, restored:',
        reapplied.join(', '),
      );
    }
    return snapshot;
  }

  /**
   * Load every package the kernel needs in one call from the bundled lock.
   * After a snapshot restore this only writes their files again: the file
   * system is not part of the snapshot.
   */
  private async _setUpPackages(
    options: IStreamWorkerOptions,
    snapshot: Private.ISnapshot | null,
  ): Promise<void> {
    if (snapshot) {
      // the files the packages installed, from the snapshot: no wheel to unpack
      Private.writeFiles(this._pyodide, snapshot);
      Object.assign(this._pyodide.loadedPackages, snapshot.packages);
    } else {
      await this._loadKernelPackages(options);
    }
    this._phases?.mark('packages loaded');
    this._pyodide.pyimport('importlib').invalidate_caches();
    await this._pyodide.runPythonAsync(`
import piplite.piplite
piplite.piplite._PIPLITE_DISABLE_PYPI = ${options.disablePyPIFallback ? 'True' : 'False'}
piplite.piplite._PIPLITE_URLS = ${JSON.stringify(options.pipliteUrls)}
`);
  }

  private async _loadKernelPackages(options: IStreamWorkerOptions): Promise<void> {
    const failures: string[] = [];
    await this._pyodide.loadPackage(options.kernelPackages, {
      messageCallback: () => undefined,
      errorCallback: (message: string) => failures.push(message),
    });
    if (failures.length) {
      throw new Error(
        `The kernel could not load its packages from ${options.indexUrl}: ` +
          failures.join('; ') +
          ' Rebuild the site with `jupyter lite build` and jupyterlite-stream installed.',
      );
    }
  }

  private async _importKernel(): Promise<void> {
    const lines = ['import pyodide_kernel', 'import jupyterlite_stream.runtime'];
    if (this._restored) {
      lines.push(
        'jupyterlite_stream.runtime.refresh_after_restore(pyodide_kernel.ipython_shell)',
      );
    }
    await this._pyodide.runPythonAsync(lines.join('\n'));
    this._phases?.mark('kernel imported');
  }

  protected async initKernel(options: IStreamWorkerOptions): Promise<void> {
    if (options.mountDrive && this._localPath) {
      // the notebook's folder in the drive (a round trip to the service worker)
      this._pyodide.runPython(
        `import os; os.chdir(${JSON.stringify(this._localPath)})`,
      );
      this._phases?.mark('working folder set');
    }
  }

  protected async initGlobals(options: IStreamWorkerOptions): Promise<void> {
    await super.initGlobals(options);
    const runtime = this._pyodide.pyimport('jupyterlite_stream.runtime');
    this._runtime = runtime;
    runtime.install(this._kernel, this._makeBridge(options));
  }

  /**
   * Run a cell; an interrupt request left after it ends must not hit the
   * next one.
   */
  async execute(content: any, parent: any): Promise<any> {
    this._cellStart = Private.now();
    this._cellsRunning++;
    this._dropLateCut();
    // errors are located by cell: JupyterLab sends the cell id with the
    // request. A Stop already pending waits for the cell's code (the gate
    // is shut while this helper runs).
    this._runtime?.begin_cell(parent?.metadata?.cellId ?? null);
    try {
      return await super.execute(content, parent);
    } catch (error) {
      // the page must get a reply whatever happened, or the cell stays busy
      const reply = Private.errorReply(error);
      // Pyodide cannot run anything after a fatal error (out of memory, a
      // wasm trap): the page offers the last checkpoint
      reply.kernel_died = !!(error as any)?.pyodide_fatal_error;
      this._sendWorkerMessage({
        parentHeader: parent?.header,
        bundle: {
          ename: reply.ename,
          evalue: reply.evalue,
          traceback: reply.traceback,
        },
        type: 'execute_error',
      });
      return reply;
    } finally {
      this._cellsRunning--;
      this._armed = 0;
      Private.setInterruptBuffer(this._pyodide, null);
      this._clearSignal();
    }
  }

  /**
   * A cell that cuts a checkpoint short is sent without waiting for the
   * checkpoint to end (see StreamKernel.executeRequest): a cut that came
   * when the checkpoint was done, or before it began, is still raised and
   * must not stop the cell. A Stop since the checkpoint began is counted,
   * and kept.
   */
  private _dropLateCut(): void {
    const stops = this._stopsAtCheckpoint;
    this._stopsAtCheckpoint = null;
    if (stops !== null && InterruptSignal.stopsIn(this._signal) === stops) {
      this._clearSignal();
    }
  }

  /**
   * Stop an awaited coroutine of the running cell: no Python runs while a
   * cell awaits, so the interrupt buffer alone would not be seen.
   *
   * @returns whether an awaiting cell was interrupted.
   */
  async interruptAwait(): Promise<boolean> {
    // When nothing awaited, the cell is between two awaits of its start: the
    // request goes back for its code to take (an ended cell cleared it).
    return this._holdingSignal(() => !!this._runtime?.interrupt_await());
  }

  /**
   * Run a Python helper with the interrupt request taken out, so that the
   * helper does not raise it; put it back unless the helper returns true
   * (it handled the interrupt).
   */
  private _holdingSignal<T>(helper: () => T): T {
    const raised = this._signal ? Atomics.exchange(this._signal, 0, 0) : 0;
    const result = helper();
    if (raised && result !== true) {
      Atomics.store(this._signal!, 0, raised);
    }
    return result;
  }

  /**
   * The kernel's state as one zip file (see jupyterlite_stream.runtime.state).
   */
  async exportState(signingKey: string | null): Promise<IStateFile> {
    const result = (await this._stateBridge()).export_for_download(signingKey);
    try {
      const data: Uint8Array = result.get(0).toJs();
      const report: string = result.get(1);
      return transfer({ data, report }, [data.buffer]);
    } finally {
      result.destroy();
    }
  }

  /**
   * What a state file holds, as JSON text; throws for a broken file.
   */
  async previewState(data: Uint8Array, signingKey: string | null): Promise<string> {
    return (await this._stateBridge()).preview(data, signingKey);
  }

  /**
   * Restore a state file, all or nothing; the report as JSON text.
   */
  async restoreState(
    data: Uint8Array,
    trust: boolean,
    signingKey: string | null,
  ): Promise<string> {
    return await (await this._stateBridge()).restore(data, trust, signingKey);
  }

  /**
   * An automatic checkpoint, in the kernel's idle time. The interrupt
   * signal reaches Python meanwhile: a cell run cuts it short between two
   * export steps (the archive is written in chunks), and the cell starts
   * without waiting for the export to end.
   */
  async checkpoint(request: ICheckpointRequest): Promise<ICheckpointResult> {
    // the first checkpoint of a kernel loads cloudpickle (~0.2 s): a cell
    // sent meanwhile starts during that load, and the checkpoint gives way
    this._stopsAtCheckpoint = InterruptSignal.stopsIn(this._signal);
    const bridge = await this._stateBridge();
    let result: any;
    const cancelled: ICheckpointResult = {
      status: 'cancelled',
      data: null,
      summary: '{}',
      fingerprint: null,
    };
    // read between the steps of the export (see checkpoint.py), and taken:
    // Pyodide's own poll must not raise it again while the export unwinds
    const signal = this._signal;
    let cut = false;
    const interrupted = () => {
      if (!cut && signal && Atomics.exchange(signal, 0, 0) !== 0) {
        cut = true;
      }
      return cut;
    };
    // a cell the page sent meanwhile started while the bridge loaded
    if (this._cellsRunning > 0 || interrupted()) {
      return { ...cancelled, cancelledAt: Private.now() };
    }
    Private.setInterruptBuffer(this._pyodide, this._polled);
    try {
      result = bridge.checkpoint(
        request.signingKey,
        request.previous,
        request.maxBytes,
        interrupted,
      );
    } catch (error: any) {
      this._clearSignal();
      // a second cut (two cells asked) may still raise out of Python
      if (error?.type === 'KeyboardInterrupt') {
        return { ...cancelled, cancelledAt: Private.now() };
      }
      throw error;
    } finally {
      Private.setInterruptBuffer(this._pyodide, null);
    }
    if (interrupted() || result.get(0) === 'cancelled') {
      // cut short (Python answers so rather than raising, see
      // state/browser.py), or done but copying it out would keep the cell
      // waiting: the next checkpoint after the cell takes its place
      result.destroy();
      this._clearSignal();
      return { ...cancelled, cancelledAt: Private.now() };
    }
    try {
      const bytes = result.get(1);
      const data = bytes ? Private.copyOut(bytes, interrupted) : null;
      if (bytes && !data) {
        this._clearSignal();
        return { ...cancelled, cancelledAt: Private.now() };
      }
      const answer: ICheckpointResult = {
        status: result.get(0),
        data,
        summary: result.get(2),
        fingerprint: result.get(3),
      };
      return data ? transfer(answer, [data.buffer]) : answer;
    } finally {
      result.destroy();
    }
  }

  /**
   * What a checkpoint would compare (see checkpoint.py); a few ms, and
   * without cloudpickle, which only the export needs.
   */
  fingerprint(): string {
    return this._pyodide
      .pyimport('jupyterlite_stream.runtime.state.checkpoint')
      .fingerprint();
  }

  /**
   * When the last cell started in this worker (ms since the epoch): the
   * page measures how long a cell that cut a checkpoint short waited.
   */
  lastCellStart(): number {
    return this._cellStart;
  }

  /**
   * The runtime's state module; cloudpickle (bundled, not loaded at start)
   * saves and restores what is not plain data.
   */
  private async _stateBridge(): Promise<any> {
    await this._pyodide.loadPackage(['cloudpickle'], {
      messageCallback: () => undefined,
    });
    return this._pyodide.pyimport('jupyterlite_stream.runtime.state.browser');
  }

  /**
   * Ask the page for input through the service worker (a synchronous XHR the
   * page answers). An interrupt answers it too, with `interrupted: true`.
   *
   * @returns `[true, text]`, or `[false, '']` when the request was interrupted.
   */
  protected sendInputRequest(prompt: string, password: boolean): any {
    const parentHeader = this.formatResult(this._kernel._parent_header)['header'];
    const request = KernelMessage.createMessage<KernelMessage.IInputRequestMsg>({
      channel: 'stdin',
      msgType: 'input_request',
      session: parentHeader?.session ?? '',
      parentHeader,
      metadata: { kernelId: this._options?.kernelId ?? '' },
      content: { prompt, password },
    });
    const { baseUrl, browsingContextId } = this._options ?? ({} as any);
    if (!browsingContextId) {
      throw new Error(
        'input() needs the JupyterLite service worker, which this browser did not start ' +
          '(private windows often block it).',
      );
    }
    const xhr = new XMLHttpRequest();
    xhr.open('POST', URLExt.join(baseUrl, '/api/stdin/kernel'), false);
    xhr.send(JSON.stringify({ browsingContextId, data: request }));
    const reply = JSON.parse(xhr.response as string);
    if ('error' in reply) {
      throw new Error(`input() failed: ${reply.error}`);
    }
    if (reply.content?.interrupted) {
      this._clearSignal();
      return [false, ''];
    }
    return [true, reply.content?.value ?? ''];
  }

  /**
   * The functions the Python runtime calls back into.
   */
  private _makeBridge(options: IStreamWorkerOptions): Private.IBridge {
    const signal = this._signal;
    return {
      canInterrupt: !!signal,
      arm: (on: boolean): boolean => this._arm(on),
      outputLimit: JSON.stringify(options.outputLimit ?? {}),
      sleep: (ms: number): boolean => {
        if (!signal) {
          return false;
        }
        // sleeps until the timeout, or wakes at once when the page interrupts
        Atomics.wait(signal, 0, 0, ms);
        // take the request: Python raises KeyboardInterrupt itself
        return Atomics.exchange(signal, 0, 0) !== 0;
      },
      phases: () => JSON.stringify(this._phases?.entries ?? []),
    };
  }

  /**
   * Open (or shut) the gate between the interrupt signal and Python: open
   * only while the cell's own code runs (runtime.interrupt.UserCodeGate),
   * counted for cells that run cells.
   */
  private _arm(on: boolean): boolean {
    this._armed = Math.max(this._armed + (on ? 1 : -1), 0);
    Private.setInterruptBuffer(this._pyodide, this._armed > 0 ? this._polled : null);
    // a Stop that waited for the cell's code: taken here, raised by the gate
    return on && !!this._signal && Atomics.exchange(this._signal, 0, 0) !== 0;
  }

  private _clearSignal(): void {
    if (this._signal) {
      Atomics.store(this._signal, 0, 0);
    }
  }

  private _signal: Int32Array | null = null;
  // what Pyodide polls: the signal's request, read and cleared without a race
  private _polled: ArrayLike<number> | null = null;
  private _armed = 0;
  private _booting: Promise<void> | null = null;
  private _restored = false;
  private _runtime: any = null;
  private _phases: Private.PhaseLog | null = null;
  private _cellStart = 0;
  private _cellsRunning = 0;
  private _stopsAtCheckpoint: number | null = null;
}

/**
 * Helpers of the worker.
 */
namespace Private {
  /**
   * Milliseconds since the epoch, sub-millisecond, comparable with the page's.
   */
  export function now(): number {
    return performance.timeOrigin + performance.now();
  }

  /**
   * What `jupyterlite_stream.runtime.install` receives.
   */
  export interface IBridge {
    canInterrupt: boolean;
    arm(on: boolean): boolean;
    outputLimit: string;
    sleep(ms: number): boolean;
    phases(): string;
  }

  /**
   * Bytes copied out of Python in one step: ~1 ms each.
   */
  export const COPY_SLICE = 4 * 1024 * 1024;

  /**
   * A Python `bytes` as a new Uint8Array, copied slice by slice so that a
   * cell asking meanwhile stops the copy (one `toJs` of a 60 MB checkpoint
   * was ~35 ms that cell waited for).
   *
   * @param value The PyProxy of the bytes; destroyed here.
   * @param interrupted Whether a cell asked to run.
   * @returns the copy, or null when it was cut short.
   */
  export function copyOut(value: any, interrupted: () => boolean): Uint8Array | null {
    const buffer = value.getBuffer('u8');
    try {
      const source: Uint8Array = buffer.data;
      const copy = new Uint8Array(source.length);
      for (let at = 0; at < source.length; at += COPY_SLICE) {
        if (interrupted()) {
          return null;
        }
        copy.set(source.subarray(at, at + COPY_SLICE), at);
      }
      return copy;
    } finally {
      buffer.release();
      value.destroy();
    }
  }

  /**
   * Hand Pyodide the interrupt signal, or none: then it does not even look
   * for one (no cost to the code that runs meanwhile).
   */
  export function setInterruptBuffer(
    pyodide: any,
    signal: ArrayLike<number> | null,
  ): void {
    pyodide.setInterruptBuffer(signal ?? undefined);
  }

  /**
   * The reply of a cell whose run failed outside Python's own error handling.
   */
  export function errorReply(error: any): any {
    // a PythonError's type is the Python class; its message the traceback
    const ename: string = error?.type ?? error?.name ?? 'Error';
    const lines = String(error?.message ?? error)
      .trim()
      .split('\n');
    const evalue = lines[lines.length - 1].replace(`${ename}: `, '').replace(ename, '');
    console.warn('[jupyterlite-stream] the cell ended outside the kernel:', error);
    return { status: 'error', ename, evalue, traceback: [`${ename}: ${evalue}`] };
  }

  /**
   * A start-up snapshot, as make-snapshot.mjs lays it out.
   */
  export interface ISnapshot {
    heap: Uint8Array;
    files: [string, Uint8Array][];
    packages: Record<string, string>;
  }

  /**
   * Fetch and read the snapshot; servers that gzip it on the fly hand it over
   * already unpacked.
   */
  export async function fetchSnapshot(url: string): Promise<ISnapshot> {
    const response = await fetch(url);
    if (!response.ok) {
      throw new Error(`${url}: ${response.status} ${response.statusText}`);
    }
    let bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
      const unpacked = new Blob([bytes])
        .stream()
        .pipeThrough(new DecompressionStream('gzip'));
      bytes = new Uint8Array(await new Response(unpacked).arrayBuffer());
    }
    return readSnapshot(bytes);
  }

  function readSnapshot(bytes: Uint8Array): ISnapshot {
    const text = new TextDecoder();
    if (text.decode(bytes.subarray(0, 8)) !== SNAPSHOT_MAGIC) {
      throw new Error('not a jupyterlite-stream snapshot');
    }
    const indexLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
    const index = JSON.parse(text.decode(bytes.subarray(12, 12 + indexLength)));
    let at = 12 + indexLength;
    const files: [string, Uint8Array][] = index.files.map(
      ([path, size]: [string, number]) => {
        const data = bytes.subarray(at, at + size);
        at += size;
        return [path, data];
      },
    );
    // Pyodide reads the heap's header as 32-bit words: it must stay aligned
    const heapAt = Math.ceil(at / 16) * 16;
    if (heapAt + index.heap !== bytes.length) {
      throw new Error('the snapshot is cut short or padded');
    }
    return { heap: bytes.subarray(heapAt), files, packages: index.packages };
  }

  const SNAPSHOT_MAGIC = 'JLSNAP01';

  /**
   * Write the snapshot's files into Pyodide's file system.
   */
  export function writeFiles(pyodide: any, snapshot: ISnapshot): void {
    const { FS, PATH } = pyodide;
    const made = new Set<string>();
    for (const [path, data] of snapshot.files) {
      const dir = PATH.dirname(path);
      if (!made.has(dir)) {
        FS.mkdirTree(dir);
        made.add(dir);
      }
      FS.writeFile(path, data);
    }
  }

  /**
   * Run `start` (which instantiates Pyodide) so that Pyodide's memory can
   * hold the snapshot: Pyodide 314 restores into the memory its wasm module
   * exports, which starts smaller than a heap with IPython in it.
   */
  export async function withMemoryFor<T>(
    snapshot: Promise<Uint8Array>,
    start: () => Promise<T>,
  ): Promise<T> {
    const { instantiate, instantiateStreaming } = WebAssembly;
    const grow = async (result: any) => {
      const instance =
        result instanceof WebAssembly.Instance ? result : result.instance;
      // Pyodide's main module exports its memory; the small helper modules
      // it instantiates have none
      const memory = instance?.exports.memory;
      if (!(memory instanceof WebAssembly.Memory)) {
        return result;
      }
      const missing = (await snapshot).length - memory.buffer.byteLength;
      if (missing > 0) {
        memory.grow(Math.ceil(missing / WASM_PAGE_BYTES));
      }
      return result;
    };
    WebAssembly.instantiate = (async (...args: any[]) =>
      grow(await (instantiate as any)(...args))) as any;
    WebAssembly.instantiateStreaming = (async (...args: any[]) =>
      grow(await (instantiateStreaming as any)(...args))) as any;
    try {
      return await start();
    } finally {
      WebAssembly.instantiate = instantiate;
      WebAssembly.instantiateStreaming = instantiateStreaming;
    }
  }

  const WASM_PAGE_BYTES = 65536;

  /**
   * A reference to Pyodide's API (or a member of it) that Python held when
   * the snapshot was made, saved by name (see make-snapshot.mjs).
   */
  export interface ISavedReference {
    pyodide?: string;
    api?: string;
  }

  /**
   * The restored Pyodide's member a saved reference names. Python gets it
   * while Pyodide is still starting, so it reaches the member only when used.
   */
  export function pyodideMember(saved: ISavedReference, pyodide: () => any): any {
    const name = saved.api ?? saved.pyodide;
    const owner = () => (saved.api ? pyodide()._api : pyodide());
    if (name) {
      return (...args: any[]) => owner()[name](...args);
    }
    // the API object itself: the `pyodide_js` module
    return new Proxy(
      {},
      {
        get: (_, key) => Reflect.get(owner(), key),
        has: (_, key) => Reflect.has(owner(), key),
        ownKeys: () => Reflect.ownKeys(owner()),
        getOwnPropertyDescriptor: (_, key) => {
          const found = Reflect.getOwnPropertyDescriptor(owner(), key);
          return found && { ...found, configurable: true };
        },
      },
    );
  }

  /**
   * Start-up phases with their times, printed to the browser console so a
   * user can see where start-up time goes on their machine.
   */
  export class PhaseLog {
    mark(phase: string): void {
      const ms = Math.round(performance.now() - this._t0);
      this.entries.push([phase, ms]);
      console.info(`[jupyterlite-stream] ${phase} after ${ms} ms`);
    }

    readonly entries: [string, number][] = [];
    private _t0 = performance.now();
  }
}

// Pyodide's fatal errors (out of memory, a wasm trap) in its event loop
// reach no request: the page must still learn that the kernel died
for (const event of ['error', 'unhandledrejection']) {
  self.addEventListener(event, (ev: any) => {
    const error = ev.error ?? ev.reason;
    if (error?.pyodide_fatal_error) {
      postMessage({ _kernelDied: String(error?.message ?? error) });
    }
  });
}

const kernel = new StreamRemoteKernel();
// the page's early start (early.ts) asks for the boot before comlink is
// wired; a failure shows when the kernel initializes this worker
self.addEventListener('message', (ev: MessageEvent) => {
  const options = ev.data?.[Boot.PREPARE_MESSAGE];
  if (options) {
    kernel.prepare(options).catch(() => undefined);
  }
});
expose(kernel);
