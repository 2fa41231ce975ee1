import type { KernelMessage } from '@jupyterlab/services';
import type { IKernel } from '@jupyterlite/services';
import { Token } from '@lumino/coreutils';
import type { ISignal } from '@lumino/signaling';

import type { ICheckpointRequest, ICheckpointResult } from './worker';

/**
 * What the page can stop in a running cell.
 *
 * - `full`: the page is cross-origin isolated; busy loops, `time.sleep`,
 *   awaited coroutines and pending `input()` all stop.
 * - `partial`: no SharedArrayBuffer; awaited coroutines and pending `input()`
 *   stop, a busy loop or `time.sleep` needs a kernel restart.
 */
export type InterruptSupport = 'full' | 'partial';

/**
 * A kernel of this package: a lite kernel that can be interrupted.
 */
export interface IStreamKernel extends IKernel {
  /**
   * What an interrupt can stop on this page.
   */
  readonly interruptSupport: InterruptSupport;

  /**
   * Whether a cell is running now.
   */
  readonly isExecuting: boolean;

  /**
   * Interrupt the running cell (a no-op when idle).
   */
  interrupt(): Promise<void>;

  /**
   * The kernel's state as one zip file and its report (JSON text).
   */
  exportState(signingKey: string | null): Promise<{ data: Uint8Array; report: string }>;

  /**
   * What a state file holds; rejects with the reason for a broken file.
   */
  previewState(data: Uint8Array, signingKey: string | null): Promise<any>;

  /**
   * Restore a state file, all or nothing; resolves with the import report.
   */
  restoreState(
    data: Uint8Array,
    trust: boolean,
    signingKey: string | null,
  ): Promise<any>;

  /**
   * Take an automatic checkpoint in idle time (null when busy); a cell run
   * meanwhile cuts it short.
   */
  checkpoint(request: ICheckpointRequest): Promise<ICheckpointResult | null>;

  /**
   * The fingerprint of the state as a checkpoint would take it, without
   * exporting anything (null when busy).
   */
  fingerprint(): Promise<string | null>;

  /**
   * Emitted after each cell with its reply status.
   */
  readonly executed: ISignal<IStreamKernel, string>;

  /**
   * Emitted once with the reason when the kernel died.
   */
  readonly died: ISignal<IStreamKernel, string>;

  /**
   * Whether the kernel died.
   */
  readonly isDead: boolean;

  /**
   * How long each cell that cut a checkpoint short waited (ms, in the worker).
   */
  readonly checkpointCutDelays: readonly number[];

  /**
   * Relay an `input()` request that reached the page through the service
   * worker, and resolve with the reply (or an interrupted reply).
   */
  handleStdin(
    request: KernelMessage.IInputRequestMsg,
  ): Promise<KernelMessage.IInputReplyMsg>;
}

/**
 * The statics of IStreamKernel.
 */
export namespace IStreamKernel {
  /**
   * Tell a kernel of this package from other lite kernels.
   */
  export function isStreamKernel(kernel: unknown): kernel is IStreamKernel {
    return (
      !!kernel &&
      typeof (kernel as IStreamKernel).interrupt === 'function' &&
      typeof (kernel as IStreamKernel).handleStdin === 'function'
    );
  }
}

/**
 * Tells other plugins whether the kernels of this page can really be
 * interrupted, and lets them react when the user asks for an interrupt that
 * cannot stop the running code.
 */
export interface IInterruptStatus {
  /**
   * What an interrupt can stop on this page.
   */
  readonly support: InterruptSupport;

  /**
   * Emitted with the kernel id when Stop could not interrupt running code.
   */
  readonly failed: ISignal<IInterruptStatus, string>;
}

/**
 * The token for the interrupt status.
 */
export const IInterruptStatus = new Token<IInterruptStatus>(
  'jupyterlite-stream:IInterruptStatus',
  'What the Stop button can stop on this page.',
);
