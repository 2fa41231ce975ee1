import type { Remote } from 'comlink';
import { wrap } from 'comlink';

import { PageConfig } from '@jupyterlab/coreutils';
import type { ILogPayload } from '@jupyterlab/logconsole';
import { KernelMessage } from '@jupyterlab/services';
import type { IKernel } from '@jupyterlite/services';
import { BaseKernel } from '@jupyterlite/services';
import { PromiseDelegate } from '@lumino/coreutils';
import type { ISignal } from '@lumino/signaling';
import { Signal } from '@lumino/signaling';

import { Boot } from './boot';
import { InterruptSignal } from './interrupt';
import type { InterruptSupport, IStreamKernel } from './tokens';
import type {
  ICheckpointRequest,
  ICheckpointResult,
  IStateFile,
  IStreamWorkerKernel,
  IStreamWorkerOptions,
} from './worker';

/**
 * The Python kernel of jupyterlite-stream (main thread side).
 *
 * It owns its worker and bridge rather than subclassing the stock
 * PyodideKernel, whose worker, bridge and input handling are private.
 */
export class StreamKernel extends BaseKernel implements IStreamKernel {
  /**
   * @param options The kernel options, with the Pyodide and package URLs.
   */
  constructor(options: StreamKernel.IOptions) {
    super(options);
    this._logger = options.logger ?? (() => undefined);
    const prestarted = options.prestarted ?? Private.startWorker();
    this._signal = prestarted.signal;
    this._worker = prestarted.worker;
    // what an early-started worker sent before this kernel listened, in order
    const backlog = prestarted.takeBacklog?.() ?? [];
    this._worker.addEventListener('message', (ev) => this._onWorkerEvent(ev));
    this._worker.addEventListener('error', (ev) => this._onWorkerError(ev));
    for (const event of backlog) {
      if (event.type === 'error') {
        this._onWorkerError(event as ErrorEvent);
      } else {
        this._onWorkerEvent(event as MessageEvent);
      }
    }
    this._remote = prestarted.remote;
    this._remote
      .initialize(this._workerOptions(options))
      .then(() => this._ready.resolve())
      .catch((err: Error) => {
        this._logger({
          payload: { type: 'text', level: 'critical', data: err.message },
          kernelId: this.id,
        });
        this._ready.reject(err);
      });
  }

  /**
   * A promise that is fulfilled when the kernel is ready.
   */
  get ready(): Promise<void> {
    return this._ready.promise;
  }

  /**
   * What an interrupt can stop on this page.
   */
  get interruptSupport(): InterruptSupport {
    return this._signal ? 'full' : 'partial';
  }

  /**
   * Whether a cell is running now.
   */
  get isExecuting(): boolean {
    return this._executing;
  }

  /**
   * Emitted when an interrupt could not stop the running code (a busy loop
   * on a page that is not cross-origin isolated).
   */
  get interruptFailed(): ISignal<this, void> {
    return this._interruptFailed;
  }

  /**
   * Interrupt the running cell: raise the shared signal (busy loops,
   * `time.sleep`), answer a pending `input()`, and cancel an awaited
   * coroutine. A no-op when no cell runs, so nothing stale is left behind.
   */
  async interrupt(): Promise<void> {
    if (!this._executing) {
      // On a busy page a cell the user ran before this Stop may still be on
      // its way to the kernel (JupyterLite's queue cancels only the cells
      // waiting in it): that cell is stopped as it starts.
      this._stoppedAt = Date.now();
      return;
    }
    // Every Stop counts: the worker lets the signal reach Python only while
    // the cell's own code runs, so a second one cannot hit the kernel while
    // it reports the first.
    this._stopRequested = true;
    this._signal?.raise();
    const answeredInput = this._answerInputInterrupted();
    // The worker only reads this message once Python yields: at once when the
    // cell awaits, after the cell ends when the signal stopped it, or never
    // while a busy loop runs on a page without the signal.
    const stopped = await Promise.race([
      this._remote.interruptAwait(),
      Private.delay(StreamKernel.AWAIT_CANCEL_TIMEOUT_MS).then(() => false),
    ]);
    if (answeredInput || stopped) {
      this._stopRequested = false;
    }
    if (!this._signal && !answeredInput && !stopped && this._executing) {
      this._interruptFailed.emit();
    }
  }

  /**
   * Emitted after each cell with its reply status: automatic checkpoints
   * follow the cells that ran.
   */
  get executed(): ISignal<this, string> {
    return this._executed;
  }

  /**
   * Emitted once with the reason when the kernel died (its worker failed,
   * Pyodide suffered a fatal error: out of memory, a wasm trap).
   */
  get died(): ISignal<this, string> {
    return this._died;
  }

  /**
   * Whether the kernel died (see `died`).
   */
  get isDead(): boolean {
    return this._dead;
  }

  /**
   * How long (ms, in the worker) each cell that cut a checkpoint short
   * waited from its request to its start.
   */
  get checkpointCutDelays(): readonly number[] {
    return this._cutDelays;
  }

  /**
   * Take an automatic checkpoint of the state now, in idle time; a cell run
   * meanwhile cuts it short. Resolves with null when the kernel is busy.
   *
   * @param request The signing key, the last fingerprint and the size cap.
   */
  async checkpoint(request: ICheckpointRequest): Promise<ICheckpointResult | null> {
    await this.ready;
    if (this._busyForIdleWork) {
      return null;
    }
    const running = this._remote.checkpoint(request);
    this._checkpointing = running;
    try {
      return await running;
    } finally {
      this._checkpointing = null;
    }
  }

  /**
   * What the checkpoint would compare (see `IStreamKernel.fingerprint`);
   * null when the kernel is busy.
   */
  async fingerprint(): Promise<string | null> {
    await this.ready;
    if (this._busyForIdleWork) {
      return null;
    }
    return await this._remote.fingerprint();
  }

  /**
   * Whether idle-time work (a checkpoint, its fingerprint) must wait: a cell
   * runs or is waiting, a checkpoint runs, or the kernel died.
   */
  private get _busyForIdleWork(): boolean {
    return !!(
      this._executing ||
      this._cellsWaiting ||
      this._checkpointing ||
      this._dead
    );
  }

  /**
   * The kernel's state as one zip file; refused while a cell runs.
   *
   * @param signingKey This browser's key: files it signs import as trusted.
   */
  async exportState(signingKey: string | null): Promise<IStateFile> {
    await this._idleOrThrow();
    return await this._remote.exportState(signingKey);
  }

  /**
   * What a state file holds (parsed JSON); throws with the reason for a
   * broken or hostile file.
   */
  async previewState(data: Uint8Array, signingKey: string | null): Promise<any> {
    await this._idleOrThrow();
    return Private.resultOrThrow(await this._remote.previewState(data, signingKey));
  }

  /**
   * Restore a state file, all or nothing; refused while a cell runs.
   */
  async restoreState(
    data: Uint8Array,
    trust: boolean,
    signingKey: string | null,
  ): Promise<any> {
    await this._idleOrThrow();
    this._executing = true;
    try {
      return Private.resultOrThrow(
        await this._remote.restoreState(data, trust, signingKey),
      );
    } finally {
      this._executing = false;
    }
  }

  private async _idleOrThrow(): Promise<void> {
    await this.ready;
    if (this._executing) {
      throw new Error(StreamKernel.BUSY_MESSAGE);
    }
  }

  /**
   * Relay an `input()` request that reached the page through the service
   * worker to the frontends, and wait for the reply.
   *
   * @param request The input request the worker sent.
   */
  async handleStdin(
    request: KernelMessage.IInputRequestMsg,
  ): Promise<KernelMessage.IInputReplyMsg> {
    const pending = new PromiseDelegate<Private.InputAnswer>();
    this._input = pending;
    if (this._stopRequested && (this._signal?.pending ?? true)) {
      // Stop came before this prompt reached the page and nothing took it
      this._stopRequested = false;
      this._signal?.clear();
      pending.resolve({ value: '', interrupted: true });
    } else {
      this.inputRequest(request.content, request.parent_header as any);
    }
    const answer = await pending.promise;
    this._input = null;
    return KernelMessage.createMessage<KernelMessage.IInputReplyMsg>({
      channel: 'stdin',
      msgType: 'input_reply',
      session: request.header.session,
      parentHeader: request.header,
      content: answer.interrupted
        ? ({ status: 'error', value: '', interrupted: true } as any)
        : { status: 'ok', value: answer.value },
    });
  }

  /**
   * Handle an `input_reply` from a frontend.
   *
   * @param content The reply.
   */
  inputReply(content: KernelMessage.IInputReplyMsg['content']): void {
    const value = 'value' in content ? content.value : '';
    this._input?.resolve({ value, interrupted: false });
  }

  async kernelInfoRequest(): Promise<KernelMessage.IInfoReplyMsg['content']> {
    const interrupts =
      this.interruptSupport === 'full'
        ? 'Stop interrupts running code.'
        : 'This page is not cross-origin isolated: Stop cannot interrupt a busy loop or time.sleep (restart the kernel instead).';
    return {
      implementation: 'jupyterlite-stream',
      implementation_version: StreamKernel.VERSION,
      language_info: {
        codemirror_mode: { name: 'python', version: 3 },
        file_extension: '.py',
        mimetype: 'text/x-python',
        name: 'python',
        nbconvert_exporter: 'python',
        pygments_lexer: 'ipython3',
        version: '3.14',
      },
      protocol_version: '5.3',
      status: 'ok',
      banner: `Python (Pyodide) with jupyterlite-stream. ${interrupts}`,
      help_links: [{ text: 'Python (WASM) Kernel', url: 'https://pyodide.org' }],
      interrupt_support: this.interruptSupport,
    } as KernelMessage.IInfoReplyMsg['content'];
  }

  async executeRequest(
    content: KernelMessage.IExecuteRequestMsg['content'],
  ): Promise<KernelMessage.IExecuteReplyMsg['content']> {
    await this.ready;
    this._cellsWaiting++;
    let cutAt: number | null;
    try {
      cutAt = await this._cutCheckpointShort();
    } finally {
      this._cellsWaiting--;
    }
    if (cutAt === null) {
      // a Stop of an earlier cell that came too late must not reach this one
      this._signal?.clear();
    }
    this._stopRequested = false;
    this._executing = true;
    if (Private.requestedBefore(this.parent, this._stoppedAt)) {
      // the gate raises it at the cell's first line
      void this.interrupt();
    }
    let status = 'error';
    try {
      // a fatal error inside Pyodide's event loop never settles the request
      const result = await Promise.race([
        this._remote.execute(content, this.parent),
        this._death.promise,
      ]);
      result.execution_count = this.executionCount;
      status = result.status;
      if (result.kernel_died) {
        this._die(result.evalue);
      }
      return result;
    } catch (error) {
      this._die(String(error));
      throw error;
    } finally {
      this._executing = false;
      if (cutAt !== null) {
        void this._logCutDelay(cutAt);
      }
      this._executed.emit(status);
    }
  }

  /**
   * Stop a checkpoint in progress so that the cell starts at once.
   *
   * @returns when the cell asked (ms since the epoch), or null when no
   * checkpoint ran.
   */
  private async _cutCheckpointShort(): Promise<number | null> {
    const running = this._checkpointing;
    if (!running) {
      return null;
    }
    const requested = performance.timeOrigin + performance.now();
    if (!this._signal) {
      // without shared memory the checkpoint cannot be reached: the cell waits
      await running.catch(() => undefined);
      return requested;
    }
    // A late Stop of an earlier cell is cleared before the cut, which the
    // checkpoint takes. The cell is sent at once: the worker reads it as
    // soon as the checkpoint gives its thread back, however busy this page
    // is meanwhile (the console drawing its next prompt: 20-50 ms).
    this._signal.clear();
    this._signal.cutShort();
    return requested;
  }

  private async _logCutDelay(requested: number): Promise<void> {
    const started = await this._remote.lastCellStart();
    const delay = started - requested;
    this._cutDelays.push(delay);
    console.info(
      `[jupyterlite-stream] a checkpoint was cut short: the cell started ${delay.toFixed(1)} ms after its request`,
    );
  }

  private _die(reason: string): void {
    if (this._dead || this.isDisposed) {
      return;
    }
    this._dead = true;
    const evalue = `the kernel died: ${reason}`;
    this._death.resolve({
      status: 'error',
      ename: 'KernelDied',
      evalue,
      traceback: [evalue],
      kernel_died: true,
    });
    this._died.emit(reason);
  }

  async completeRequest(
    content: KernelMessage.ICompleteRequestMsg['content'],
  ): Promise<KernelMessage.ICompleteReplyMsg['content']> {
    return await this._remote.complete(content, this.parent);
  }

  async inspectRequest(
    content: KernelMessage.IInspectRequestMsg['content'],
  ): Promise<KernelMessage.IInspectReplyMsg['content']> {
    return await this._remote.inspect(content, this.parent);
  }

  async isCompleteRequest(
    content: KernelMessage.IIsCompleteRequestMsg['content'],
  ): Promise<KernelMessage.IIsCompleteReplyMsg['content']> {
    return await this._remote.isComplete(content, this.parent);
  }

  async commInfoRequest(
    content: KernelMessage.ICommInfoRequestMsg['content'],
  ): Promise<KernelMessage.ICommInfoReplyMsg['content']> {
    return await this._remote.commInfo(content, this.parent);
  }

  async commOpen(msg: KernelMessage.ICommOpenMsg): Promise<void> {
    return await this._remote.commOpen(msg, this.parent);
  }

  async commMsg(msg: KernelMessage.ICommMsgMsg): Promise<void> {
    return await this._remote.commMsg(msg, this.parent);
  }

  async commClose(msg: KernelMessage.ICommCloseMsg): Promise<void> {
    return await this._remote.commClose(msg, this.parent);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._ready.reject(new Error(`${this.id} was disposed`));
    this._ready.promise.catch(() => undefined);
    this._answerInputInterrupted();
    this._worker.terminate();
    super.dispose();
  }

  private _onWorkerEvent(ev: MessageEvent): void {
    if (ev.data?._kernelDied !== undefined) {
      this._die(ev.data._kernelDied);
    } else if (ev.data?._kernelMessage !== undefined) {
      this._onWorkerMessage(ev.data._kernelMessage, ev.data.stops ?? 0);
    } else if (ev.data?._logMessage !== undefined) {
      this._logger({ payload: ev.data._logMessage, kernelId: this.id });
    }
  }

  private _onWorkerError(ev: ErrorEvent): void {
    this._ready.reject(new Error(`The kernel worker failed to start: ${ev.message}`));
    this._die(ev.message);
  }

  private _workerOptions(options: StreamKernel.IOptions): IStreamWorkerOptions {
    return {
      ...Private.bootOptions(options, this._signal),
      location: this.location,
      mountDrive: options.mountDrive,
      outputLimit: options.outputLimit,
      browsingContextId: options.browsingContextId,
      kernelId: this.id,
    };
  }

  /**
   * Answer a pending `input()` as interrupted.
   *
   * @returns whether an input was pending.
   */
  private _answerInputInterrupted(): boolean {
    const pending = this._input;
    this._input = null;
    pending?.resolve({ value: '', interrupted: true });
    return !!pending;
  }

  /**
   * Turn a worker message into the matching kernel message.
   *
   * @param stops The Stops the worker had seen when it sent the message:
   * output sent before the latest Stop is dropped, so that the page does
   * not go on showing (and rendering) a runaway loop's backlog.
   */
  private _onWorkerMessage(msg: any, stops: number): void {
    if (
      this._signal &&
      stops < this._signal.stops &&
      Private.OUTPUT_MESSAGES.has(msg.type)
    ) {
      return;
    }
    const parent = msg.parentHeader;
    switch (msg.type) {
      case 'stream':
        this.stream(msg.bundle, parent);
        break;
      case 'display_data':
        this.displayData(msg.bundle, parent);
        break;
      case 'update_display_data':
        this.updateDisplayData(msg.bundle, parent);
        break;
      case 'clear_output':
        this.clearOutput(msg.bundle, parent);
        break;
      case 'execute_result':
        this.publishExecuteResult(msg.bundle, parent);
        break;
      case 'execute_error':
        this.publishExecuteError(msg.bundle, parent);
        break;
      case 'comm_msg':
      case 'comm_open':
      case 'comm_close':
        this.handleComm(msg.type, msg.content, msg.metadata, msg.buffers, parent);
        break;
    }
  }

  private _logger: (options: { payload: ILogPayload; kernelId: string }) => void;
  private _signal: InterruptSignal | null;
  private _worker: Worker;
  private _remote: Remote<StreamKernel.IRemote>;
  private _ready = new PromiseDelegate<void>();
  private _executing = false;
  private _input: PromiseDelegate<Private.InputAnswer> | null = null;
  // Stop was pressed for the running cell and no pending input() or await
  // took it: an input() the cell asks for next is answered as interrupted
  private _stopRequested = false;
  // when Stop was last pressed with no cell running (ms since the epoch)
  private _stoppedAt = -Infinity;
  private _interruptFailed = new Signal<this, void>(this);
  private _executed = new Signal<this, string>(this);
  private _died = new Signal<this, string>(this);
  private _dead = false;
  private _death = new PromiseDelegate<any>();
  private _checkpointing: Promise<ICheckpointResult> | null = null;
  private _cutDelays: number[] = [];
  private _cellsWaiting = 0;
}

/**
 * The statics of StreamKernel.
 */
export namespace StreamKernel {
  /**
   * The package version, reported in the kernel info.
   */
  export const VERSION = '0.1.0';

  /**
   * How long to wait for the worker to answer an interrupt before deciding a
   * busy loop holds it.
   */
  export const AWAIT_CANCEL_TIMEOUT_MS = 500;

  /**
   * Why state export or import is refused while a cell runs.
   */
  export const BUSY_MESSAGE =
    'A cell is running. Wait until it finishes (or stop it), then try again.';

  /**
   * The options of a StreamKernel.
   */
  export interface IOptions extends IKernel.IOptions, Boot.ISettings {
    mountDrive: boolean;
    browsingContextId?: string;
    /**
     * A worker started before the kernel was asked for (see `prestart`).
     */
    prestarted?: IPrestarted;
    logger?: (options: { payload: ILogPayload; kernelId: string }) => void;
  }

  /**
   * The settings a worker needs to boot, before it belongs to a kernel.
   */
  export type IBootSettings = Boot.ISettings;

  /**
   * A kernel's worker with its bridge and interrupt signal.
   */
  export interface IPrestarted {
    worker: Worker;
    remote: Remote<IRemote>;
    signal: InterruptSignal | null;
    /** The events the worker sent before a kernel listened (early start). */
    takeBacklog?: () => Event[];
  }

  /**
   * Take the worker the HTML page started (early.ts) if it boots with these
   * settings; else end it (a per-app jupyter-lite.json, another build).
   *
   * @returns the worker for the first kernel, or null.
   */
  export function adoptEarly(
    early: Boot.IEarlyWorker,
    settings: IBootSettings,
  ): IPrestarted | null {
    const expected = Boot.bootKey(Private.bootOptions(settings, null));
    if (
      early.failed ||
      early.url !== Private.workerUrl().href ||
      early.key !== expected
    ) {
      early.worker.terminate();
      console.info(
        "[jupyterlite-stream] the page's early kernel worker did not fit this page: starting another",
      );
      return null;
    }
    console.info(
      `[jupyterlite-stream] kernel worker started by the page at ${Math.round(early.startedAt)} ms`,
    );
    return {
      worker: early.worker,
      remote: wrap(early.worker) as Remote<IRemote>,
      signal: early.interruptBuffer ? new InterruptSignal(early.interruptBuffer) : null,
      takeBacklog: early.takeBacklog,
    };
  }

  /**
   * Start a worker that loads Pyodide and imports the kernel at once, while
   * the page is still setting up, for the first kernel to take.
   */
  export function prestart(settings: IBootSettings): IPrestarted {
    const started = Private.startWorker();
    // a failure shows when the kernel initializes this worker
    started.remote
      .prepare(Private.bootOptions(settings, started.signal))
      .catch(() => undefined);
    return started;
  }

  /**
   * The worker as seen through comlink.
   */
  export interface IRemote extends IStreamWorkerKernel {
    execute(content: any, parent: any): Promise<any>;
    complete(content: any, parent: any): Promise<any>;
    inspect(content: any, parent: any): Promise<any>;
    isComplete(content: any, parent: any): Promise<any>;
    commInfo(content: any, parent: any): Promise<any>;
    commOpen(content: any, parent: any): Promise<any>;
    commMsg(content: any, parent: any): Promise<any>;
    commClose(content: any, parent: any): Promise<any>;
  }
}

namespace Private {
  /**
   * How a pending `input()` was answered.
   */
  export type InputAnswer = { value: string; interrupted: boolean };

  /**
   * The worker messages that are a cell's output.
   */
  export const OUTPUT_MESSAGES = new Set([
    'stream',
    'display_data',
    'update_display_data',
    'clear_output',
    'execute_result',
  ]);

  /**
   * Start the prebuilt worker bundle as a module worker. The indirection
   * keeps the bundler from re-bundling it as a worker entry point (as in
   * @jupyterlite/pyodide-kernel, whose workers are built the same way).
   */
  export function createModuleWorker(url: URL): Worker {
    return new Worker(url, { type: 'module' });
  }

  /**
   * A new kernel worker with its bridge and interrupt signal.
   */
  export function startWorker(): StreamKernel.IPrestarted {
    const worker = createModuleWorker(workerUrl());
    const remote = wrap(worker) as Remote<StreamKernel.IRemote>;
    return { worker, remote, signal: InterruptSignal.create() };
  }

  /**
   * The worker bundle's URL (the build writes the same one into the pages'
   * early start).
   */
  export function workerUrl(): URL {
    return new URL('./stream.worker.js', import.meta.url);
  }

  /**
   * The worker options that do not depend on the kernel.
   */
  export function bootOptions(
    settings: StreamKernel.IBootSettings,
    signal: InterruptSignal | null,
  ): IStreamWorkerOptions {
    return Boot.workerOptions(
      settings,
      PageConfig.getBaseUrl(),
      signal?.buffer ?? null,
    );
  }

  /**
   * Parse a JSON answer of the runtime's state module; `{"error": ...}`
   * becomes an Error with that message.
   */
  export function resultOrThrow(text: string): any {
    const result = JSON.parse(text);
    if (result && typeof result.error === 'string') {
      throw new Error(result.error);
    }
    return result;
  }

  /**
   * Whether the frontend sent `request` at or before `time` (ms since the
   * epoch; both clocks are this page's).
   */
  export function requestedBefore(
    request: KernelMessage.IMessage | undefined,
    time: number,
  ): boolean {
    const sent = Date.parse(request?.header.date ?? '');
    return Number.isFinite(sent) && sent <= time;
  }

  export function delay(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
