/**
 * Where automatic checkpoints live: one IndexedDB database of the site's
 * origin, one checkpoint per site and notebook.
 *
 * A checkpoint is two records: its bytes (store `data`, a new key each
 * time) and what the restore dialog shows (store `about`, keyed by site and
 * notebook path, pointing at the bytes). A new checkpoint is written in one
 * transaction that adds the new bytes, points `about` at them and deletes
 * the old bytes: IndexedDB applies all of it or none, so a checkpoint cut
 * off by a closed tab or a full disk never replaces the last good one.
 */

/**
 * What the store knows of a notebook's checkpoint, without its bytes.
 */
export interface ICheckpointInfo {
  /** The site and notebook path. */
  key: string;
  /** The notebook's path. */
  path: string;
  /** When it was taken (ms since the epoch). */
  created: number;
  /** The state file's size in bytes. */
  size: number;
  variables: number;
  databases: number;
  files: number;
  /** The fingerprint of the state it holds. */
  fingerprint: string | null;
  /** The key of its bytes in the `data` store. */
  dataKey: string;
}

/**
 * The checkpoints of this site in IndexedDB.
 */
export class CheckpointStore {
  /**
   * @param site What tells this site from others on the same origin (its
   * base URL).
   */
  constructor(site: string) {
    this._site = site;
  }

  /**
   * The key of a notebook's checkpoint.
   */
  keyOf(path: string): string {
    return `${this._site}|${path}`;
  }

  /**
   * What the store holds for a notebook, or null. A record another version
   * wrote in another shape counts as broken: it throws
   * `CheckpointStore.BrokenError`.
   */
  async info(path: string): Promise<ICheckpointInfo | null> {
    const found = await this._request('about', 'readonly', (about) =>
      about.get(this.keyOf(path)),
    );
    if (found === undefined) {
      return null;
    }
    if (!Private.isInfo(found)) {
      throw new CheckpointStore.BrokenError(
        'its record in browser storage is not readable',
      );
    }
    return found;
  }

  /**
   * The bytes of a notebook's checkpoint.
   */
  async data(info: ICheckpointInfo): Promise<Uint8Array> {
    const found = await this._request('data', 'readonly', (data) =>
      data.get(info.dataKey),
    );
    if (found instanceof Uint8Array) {
      return found;
    }
    if (found instanceof ArrayBuffer) {
      return new Uint8Array(found);
    }
    throw new CheckpointStore.BrokenError('its data is missing from browser storage');
  }

  /**
   * Store a new checkpoint of a notebook in place of the last one, all or
   * nothing (rejects with the browser's error, e.g. QuotaExceededError).
   */
  async save(
    path: string,
    data: Uint8Array,
    about: Omit<ICheckpointInfo, 'key' | 'path' | 'dataKey' | 'size'>,
  ): Promise<ICheckpointInfo> {
    const key = this.keyOf(path);
    const info: ICheckpointInfo = {
      ...about,
      key,
      path,
      size: data.byteLength,
      dataKey: `${key}|${Date.now()}|${Math.random().toString(36).slice(2)}`,
    };
    const db = await this._open();
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction(['about', 'data'], 'readwrite');
      const aboutStore = tx.objectStore('about');
      const dataStore = tx.objectStore('data');
      const old = aboutStore.get(key);
      // the browser's reason when a write is refused at once (a full disk)
      let refused: unknown = null;
      old.onsuccess = () => {
        try {
          dataStore.put(data, info.dataKey);
          aboutStore.put(info, key);
          const previous = old.result?.dataKey;
          if (typeof previous === 'string') {
            dataStore.delete(previous);
          }
        } catch (error) {
          refused = error;
          tx.abort();
        }
      };
      tx.oncomplete = () => resolve();
      tx.onabort = () =>
        reject(refused ?? tx.error ?? new Error('the transaction was aborted'));
    });
    return info;
  }

  /**
   * Delete a notebook's checkpoint, or (no path) every checkpoint of this
   * site; other sites' stay.
   */
  async delete(path?: string): Promise<void> {
    const db = await this._open();
    const keys = path === undefined ? await this._keys() : [this.keyOf(path)];
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction(['about', 'data'], 'readwrite');
      const aboutStore = tx.objectStore('about');
      const dataStore = tx.objectStore('data');
      for (const key of keys) {
        aboutStore.delete(key);
        // the bytes of this key, also ones a broken record lost track of
        dataStore.delete(IDBKeyRange.bound(`${key}|`, `${key}|\uffff`));
      }
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
  }

  /**
   * The bytes all checkpoints of this site take.
   */
  async used(): Promise<number> {
    const all = await this._request('about', 'readonly', (about) =>
      about.getAll(IDBKeyRange.bound(`${this._site}|`, `${this._site}|\uffff`)),
    );
    return (all as any[]).reduce(
      (sum, info) => sum + (typeof info?.size === 'number' ? info.size : 0),
      0,
    );
  }

  private async _keys(): Promise<string[]> {
    const keys = await this._request('about', 'readonly', (about) =>
      about.getAllKeys(IDBKeyRange.bound(`${this._site}|`, `${this._site}|\uffff`)),
    );
    return (keys as IDBValidKey[]).map(String);
  }

  private async _request<T>(
    store: 'about' | 'data',
    mode: IDBTransactionMode,
    make: (store: IDBObjectStore) => IDBRequest<T>,
  ): Promise<T> {
    const db = await this._open();
    return new Promise<T>((resolve, reject) => {
      const request = make(db.transaction(store, mode).objectStore(store));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  private _open(): Promise<IDBDatabase> {
    if (!this._db) {
      this._db = new Promise((resolve, reject) => {
        const request = indexedDB.open(CheckpointStore.DATABASE, 1);
        request.onupgradeneeded = () => {
          const db = request.result;
          for (const name of ['about', 'data']) {
            if (!db.objectStoreNames.contains(name)) {
              db.createObjectStore(name);
            }
          }
        };
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      // a failure is retried at the next call
      this._db.catch(() => (this._db = null));
    }
    return this._db;
  }

  private _site: string;
  private _db: Promise<IDBDatabase> | null = null;
}

/**
 * The statics of CheckpointStore.
 */
export namespace CheckpointStore {
  /**
   * The IndexedDB database of the checkpoints.
   */
  export const DATABASE = 'jupyterlite-stream-checkpoints';

  /**
   * A checkpoint in storage that cannot be read (written by another
   * version, or damaged).
   */
  export class BrokenError extends Error {}
}

namespace Private {
  /**
   * Whether a stored record has the shape this version writes.
   */
  export function isInfo(found: any): found is ICheckpointInfo {
    return (
      !!found &&
      typeof found === 'object' &&
      typeof found.path === 'string' &&
      typeof found.dataKey === 'string' &&
      Number.isFinite(found.created) &&
      Number.isFinite(found.size) &&
      Number.isFinite(found.variables) &&
      Number.isFinite(found.databases) &&
      Number.isFinite(found.files)
    );
  }
}
