/**
 * The teacher's original and the student's copy: the model.
 *
 * JupyterLite keeps a file the student saved in the browser and from then on
 * serves that copy instead of the site's file, so a later update of the
 * teacher's version stays hidden (jupyterlite#1067, #638). The site's
 * contents listing carries a content hash per file (written by the build);
 * comparing it with the copy, and with the hash the copy was made from, tells
 * which files the student changed and which the teacher updated since.
 */
import { PageConfig, PathExt, URLExt } from '@jupyterlab/coreutils';
import type { Contents } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';

/**
 * What the student has of one path.
 *
 * - `teacher`: the teacher's file as published (no copy, or an identical one);
 * - `changed`: a copy in this browser that differs from the teacher's file;
 * - `created`: a file of the student's own, not in the site;
 * - `folder`, `missing`: nothing to compare.
 */
export type Origin = 'teacher' | 'changed' | 'created' | 'folder' | 'missing';

export interface IOriginStatus {
  origin: Origin;
  /**
   * Whether the teacher published a new version since the student's copy was
   * made (or since the student chose to keep theirs).
   */
  updated: boolean;
  /**
   * The teacher's current content hash (empty when unknown).
   */
  teacherHash: string;
}

/**
 * The student's files compared with the teacher's, and the two ways back to
 * the teacher's version.
 */
export class Originals {
  /**
   * @param contents The contents manager (JupyterLite's browser drive).
   */
  constructor(contents: Contents.IManager) {
    this._contents = contents;
    this._records = new Private.Records(Private.siteKey());
    contents.fileChanged.connect(this._onFileChanged, this);
  }

  /**
   * Emitted with the path whose status may have changed.
   */
  get changed(): ISignal<this, string> {
    return this._changed;
  }

  /**
   * What the student has of `path`.
   */
  async status(path: string): Promise<IOriginStatus> {
    const entry = await this._listing.entry(path);
    const model = await this._contents.get(path, { content: false }).catch(() => null);
    const teacherHash = entry?.hash ?? '';
    const none = (origin: Origin) => ({ origin, updated: false, teacherHash });
    if (!model) {
      return none('missing');
    }
    if (model.type === 'directory') {
      return none('folder');
    }
    if (!entry) {
      return none('created');
    }
    // JupyterLite serves the site's own model until the student saves:
    // a copy made in the browser carries the time of that save
    if (model.last_modified === entry.last_modified) {
      return none('teacher');
    }
    const key = `${model.last_modified}|${teacherHash}`;
    let differs =
      this._compared.get(path)?.key === key ? this._compared.get(path)!.differs : null;
    if (differs === null) {
      differs = await this._differs(path);
      this._compared.set(path, { key, differs });
    }
    if (!differs) {
      return none('teacher');
    }
    // the hash the copy was made from: our record, else the one JupyterLite
    // copied into the stored model from the listing at the first save
    const base = this._records.get(path) ?? model.hash ?? '';
    if (!base && teacherHash) {
      // a copy older than any record (another version, cleared storage): an
      // update before now cannot be told, later ones will be
      this._records.set(path, teacherHash);
    }
    return {
      origin: 'changed',
      updated: !!base && !!teacherHash && base !== teacherHash,
      teacherHash,
    };
  }

  /**
   * The student keeps their copy of an updated notebook: no more notice
   * until the teacher publishes again.
   */
  keepMine(path: string, teacherHash: string): void {
    if (teacherHash) {
      this._records.set(path, teacherHash);
    }
    this._changed.emit(path);
  }

  /**
   * Save the student's copy next to it (`name (my version).ipynb`) and bring
   * the teacher's file back. Returns the backup's path.
   */
  async restoreOriginal(path: string): Promise<string> {
    const backup = await this.keepBackup(path);
    // Deleting removes only the browser's copy: the site's file shows again.
    await this._contents.delete(path);
    this._records.delete(path);
    this._compared.delete(path);
    // The drive fetches the file with the browser's HTTP cache, which may
    // still hold the version from before the teacher's update.
    await Private.fetchTeacherFile(path, 'reload').catch(() => null);
    this._changed.emit(path);
    return backup;
  }

  /**
   * Copy the student's version of `path` to a free backup name next to it.
   */
  async keepBackup(path: string): Promise<string> {
    const model = await this._contents.get(path, { content: true });
    const backup = await this.backupPath(path);
    await this._contents.save(backup, {
      type: model.type,
      format: model.format,
      content: model.content,
    });
    return backup;
  }

  /**
   * Every file the student created or changed, with its origin.
   */
  async work(folder = ''): Promise<{ path: string; origin: Origin }[]> {
    const listing = await this._contents.get(folder, { content: true });
    const found: { path: string; origin: Origin }[] = [];
    for (const item of (listing.content ?? []) as Contents.IModel[]) {
      if (item.type === 'directory') {
        found.push(...(await this.work(item.path)));
        continue;
      }
      const { origin } = await this.status(item.path);
      if (origin === 'changed' || origin === 'created') {
        found.push({ path: item.path, origin });
      }
    }
    return found;
  }

  /**
   * The bytes of the student's version of `path`, as a download holds them.
   */
  async bytes(path: string): Promise<Uint8Array> {
    return Private.bytesOf(await this._contents.get(path, { content: true }));
  }

  /**
   * The teacher's content hash of `path` (empty when not a teacher file).
   */
  async teacherHash(path: string): Promise<string> {
    return (await this._listing.entry(path))?.hash ?? '';
  }

  private async _differs(path: string): Promise<boolean> {
    const [mine, teacher] = await Promise.all([
      this._contents.get(path, { content: true }),
      // a listed file the site does not serve: the student's copy is theirs
      Private.fetchTeacherFile(path, 'default').catch(() => null),
    ]);
    if (!teacher) {
      return true;
    }
    if (mine.type === 'notebook') {
      // the browser stores a notebook as parsed JSON: compare what the student
      // sees (cells and outputs), not the bytes
      try {
        const published = JSON.parse(new TextDecoder().decode(teacher));
        return Private.notebookText(mine.content) !== Private.notebookText(published);
      } catch {
        return true;
      }
    }
    return !Private.sameBytes(Private.bytesOf(mine), teacher);
  }

  /**
   * The first free backup name of `path`: `name (my version).ipynb`, then
   * `name (my version 2).ipynb` ...
   */
  async backupPath(path: string): Promise<string> {
    const extension = PathExt.extname(path);
    const stem = path.slice(0, path.length - extension.length);
    for (let n = 1; ; n++) {
      const label = n === 1 ? 'my version' : `my version ${n}`;
      const candidate = `${stem} (${label})${extension}`;
      const taken = await this._contents
        .get(candidate, { content: false })
        .catch(() => null);
      if (!taken) {
        return candidate;
      }
    }
  }

  private _onFileChanged(_: Contents.IManager, change: Contents.IChangedArgs): void {
    const path = change.newValue?.path ?? change.oldValue?.path;
    if (!path) {
      return;
    }
    if (change.type === 'save' && !this._records.get(path)) {
      // the first save of a teacher's file makes the student's copy: note
      // which version of the teacher's it was made from
      // (the stored model keeps the listing's hash of the version it was
      // first copied from; an older copy may predate this page's listing)
      const copied = change.newValue?.hash;
      void this._listing.entry(path).then((entry) => {
        const hash = copied || entry?.hash;
        if (entry && hash) {
          this._records.set(path, hash);
        }
        this._changed.emit(path);
      });
      return;
    }
    if (change.type === 'rename' && change.oldValue?.path) {
      this._records.delete(change.oldValue.path);
    }
    this._changed.emit(path);
  }

  private _contents: Contents.IManager;
  private _records: Private.Records;
  private _listing = new Private.TeacherListing();
  private _compared = new Map<string, { key: string; differs: boolean }>();
  private _changed = new Signal<this, string>(this);
}

namespace Private {
  /**
   * The site's contents listings (`api/contents/<folder>/all.json`), read
   * once per page: the teacher's files as published, with their hashes.
   */
  export class TeacherListing {
    async entry(path: string): Promise<Contents.IModel | null> {
      const folder = PathExt.dirname(path);
      let listing = this._folders.get(folder);
      if (!listing) {
        listing = this._read(folder);
        this._folders.set(folder, listing);
      }
      return (await listing).get(PathExt.basename(path)) ?? null;
    }

    private async _read(folder: string): Promise<Map<string, Contents.IModel>> {
      const found = new Map<string, Contents.IModel>();
      const file = PageConfig.getOption('contentsAllJsonFile');
      if (!file) {
        return found; // a site without contents
      }
      const url = URLExt.join(PageConfig.getBaseUrl(), 'api/contents', folder, file);
      try {
        // Read as JupyterLite's drive reads it (the browser's HTTP cache
        // included): both must agree on which file is the site's, or a file
        // the student never saved would look like a copy while the cache
        // still holds the listing from before an update.
        const response = await fetch(url);
        if (response.status === 404) {
          return found; // a folder the student made
        }
        const listing = await response.json();
        for (const item of listing.content as Contents.IModel[]) {
          if (item && typeof item.name === 'string') {
            found.set(item.name, item);
          }
        }
      } catch (error) {
        console.warn(
          `[jupyterlite-stream] the site's file list ${url} is unreadable: ${error}`,
        );
      }
      return found;
    }

    private _folders = new Map<string, Promise<Map<string, Contents.IModel>>>();
  }

  /**
   * The teacher's hash each of the student's copies was made from (or last
   * acknowledged), kept in localStorage per site.
   */
  export class Records {
    constructor(key: string) {
      this._key = key;
    }

    get(path: string): string | null {
      const value = this._read()[path];
      return typeof value === 'string' ? value : null;
    }

    set(path: string, hash: string): void {
      this._write({ ...this._read(), [path]: hash });
    }

    delete(path: string): void {
      const records = this._read();
      delete records[path];
      this._write(records);
    }

    private _read(): Record<string, unknown> {
      try {
        const parsed = JSON.parse(window.localStorage.getItem(this._key) ?? '{}');
        return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
          ? parsed
          : {};
      } catch {
        // written by something else: start again, the copies themselves are safe
        console.warn(
          `[jupyterlite-stream] ignoring an unreadable ${this._key} in localStorage`,
        );
        return {};
      }
    }

    private _write(records: Record<string, unknown>): void {
      try {
        window.localStorage.setItem(this._key, JSON.stringify(records));
      } catch (error) {
        console.warn(`[jupyterlite-stream] cannot write ${this._key}: ${error}`);
      }
    }

    private _key: string;
  }

  /**
   * One key per site: several sites can share an origin (GitHub Pages).
   */
  export function siteKey(): string {
    return `jupyterlite-stream:original:${new URL(PageConfig.getBaseUrl()).pathname}`;
  }

  export async function fetchTeacherFile(
    path: string,
    cache: RequestCache,
  ): Promise<Uint8Array> {
    const url = URLExt.join(PageConfig.getBaseUrl(), 'files', URLExt.encodeParts(path));
    const response = await fetch(url, { cache });
    if (!response.ok) {
      throw new Error(`${url}: ${response.status}`);
    }
    return new Uint8Array(await response.arrayBuffer());
  }

  /**
   * A notebook as the student sees it: each cell's kind, source and outputs
   * (ids, metadata and execution counts left out).
   */
  export function notebookText(notebook: any): string {
    const cells = Array.isArray(notebook?.cells) ? notebook.cells : [];
    const join = (text: unknown) =>
      Array.isArray(text) ? text.join('') : String(text ?? '');
    return canonical(
      cells.map((cell: any) => [
        cell?.cell_type,
        join(cell?.source),
        (Array.isArray(cell?.outputs) ? cell.outputs : []).map((output: any) => ({
          ...output,
          execution_count: null,
        })),
      ]),
    );
  }

  /**
   * JSON with the keys of every object sorted.
   */
  function canonical(value: unknown): string {
    if (Array.isArray(value)) {
      return `[${value.map(canonical).join(',')}]`;
    }
    if (value && typeof value === 'object') {
      const keys = Object.keys(value).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as any)[k])}`).join(',')}}`;
    }
    return JSON.stringify(value ?? null);
  }

  /**
   * The bytes of a contents model, notebooks written as nbformat writes them.
   */
  export function bytesOf(model: Contents.IModel): Uint8Array {
    const content = model.content ?? '';
    if (model.format === 'json') {
      return new TextEncoder().encode(JSON.stringify(content, null, 1) + '\n');
    }
    if (model.format === 'base64') {
      return Uint8Array.from(atob(content), (c) => c.charCodeAt(0));
    }
    return new TextEncoder().encode(String(content));
  }

  export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
    return a.length === b.length && a.every((byte, i) => byte === b[i]);
  }
}
