/**
 * The interrupt signal shared between the page and the kernel's worker.
 *
 * Pyodide polls an `Int32Array` handed to `setInterruptBuffer` and raises
 * `KeyboardInterrupt` when it holds 2 (SIGINT). The same cell also wakes the
 * worker's `time.sleep` and `input()` waits, which use `Atomics.wait` on it.
 * It needs a SharedArrayBuffer, so it only exists on cross-origin isolated
 * pages; without one, only awaited coroutines and pending input can be
 * stopped (see `StreamKernel.interrupt`).
 */
export class InterruptSignal {
  /**
   * Create a signal, or `null` when the page cannot share memory with workers.
   */
  static create(): InterruptSignal | null {
    if (!InterruptSignal.isSupported()) {
      return null;
    }
    return new InterruptSignal(
      new SharedArrayBuffer(InterruptSignal.CELLS * Int32Array.BYTES_PER_ELEMENT),
    );
  }

  /**
   * Whether real interrupts of running code are possible on this page.
   */
  static isSupported(): boolean {
    return (
      typeof SharedArrayBuffer !== 'undefined' &&
      typeof Atomics !== 'undefined' &&
      !!globalThis.crossOriginIsolated
    );
  }

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this._cells = new Int32Array(buffer);
  }

  /**
   * The shared memory, handed to the worker once at start.
   */
  readonly buffer: SharedArrayBuffer;

  /**
   * Ask the running code to stop: Pyodide raises `KeyboardInterrupt` at its
   * next check, and a worker blocked in `Atomics.wait` wakes at once.
   */
  raise(): void {
    Atomics.add(this._cells, InterruptSignal.STOPS, 1);
    Atomics.store(this._cells, 0, InterruptSignal.SIGINT);
    Atomics.notify(this._cells, 0);
  }

  /**
   * Stop background work of the kernel (an automatic checkpoint) that runs
   * while no cell does: as `raise`, but not counted as a Stop, so no output
   * is dropped.
   */
  cutShort(): void {
    Atomics.store(this._cells, 0, InterruptSignal.SIGINT);
    Atomics.notify(this._cells, 0);
  }

  /**
   * How many Stops were raised so far: the worker stamps its output with
   * it, so output sent before the latest Stop can be told apart.
   */
  get stops(): number {
    return InterruptSignal.stopsIn(this._cells);
  }

  /**
   * Whether a request is raised and not yet taken by Python.
   */
  get pending(): boolean {
    return Atomics.load(this._cells, 0) !== 0;
  }

  /**
   * Forget a pending request, so an interrupt that came while nothing was
   * running cannot kill the next cell.
   */
  clear(): void {
    Atomics.store(this._cells, 0, 0);
  }

  private _cells: Int32Array;
}

/**
 * The statics of InterruptSignal.
 */
export namespace InterruptSignal {
  /**
   * The value Pyodide understands as SIGINT.
   */
  export const SIGINT = 2;

  /**
   * The cells of the shared memory: [0] the request Pyodide polls (and
   * `Atomics.wait` sleeps on), [STOPS] the count of Stops.
   */
  export const CELLS = 2;
  export const STOPS = 1;

  /**
   * The request cell as Pyodide should poll it (worker side).
   *
   * Pyodide's periodic check reads the cell, then writes 0 to it: a Stop the
   * page stores between the two was wiped out and never raised (about one
   * Stop of a busy loop in thirty). Through this view the clearing write only
   * clears the value the read saw (compare-and-exchange), so a Stop stored
   * meanwhile stays for the next check. Reads stay plain loads, as Pyodide's
   * other readers expect.
   */
  export function pollView(cells: Int32Array): ArrayLike<number> {
    let seen = 0;
    const view = { length: 1 } as { length: number; [index: number]: number };
    Object.defineProperty(view, 0, {
      get: () => (seen = Atomics.load(cells, 0)),
      set: (value: number) => {
        if (value === 0) {
          Atomics.compareExchange(cells, 0, seen, 0);
        } else {
          Atomics.store(cells, 0, value);
        }
      },
    });
    return view;
  }

  /**
   * The count of Stops in a signal's cells (0 without a signal).
   */
  export function stopsIn(cells: Int32Array | null): number {
    return cells ? Atomics.load(cells, STOPS) : 0;
  }
}
