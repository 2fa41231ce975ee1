/**
 * Automatic checkpoints of the kernel's state and recovery after a reload, a
 * crash or a closed tab: the scheduling (after a cell that changed the
 * state, in idle time), the restore dialog, the commands, and the messages
 * for a full disk, a state over the cap and a broken checkpoint. The state
 * file is made by the kernel (runtime/state/checkpoint.py); storage is
 * checkpointstore.ts.
 */
import type { ISessionContext } from '@jupyterlab/apputils';
import {
  Dialog,
  Notification,
  showDialog,
  showErrorMessage,
} from '@jupyterlab/apputils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { IKernelClient } from '@jupyterlite/services';
import type { ISignal } from '@lumino/signaling';
import { Signal } from '@lumino/signaling';

import type { ICheckpointInfo } from './checkpointstore';
import { CheckpointStore } from './checkpointstore';
import { signingKey } from './state';
import { IStreamKernel } from './tokens';
import type { ICheckpointResult } from './worker';

/**
 * The command ids (stable: docs and tests use them).
 */
export namespace CommandIDs {
  export const restoreCheckpoint = 'jupyterlite-stream:restore-checkpoint';
  export const deleteCheckpoints = 'jupyterlite-stream:delete-checkpoints';
}

/**
 * The checkpoint settings, from `litePluginSettings["jupyterlite-stream:state"]`.
 */
export interface ICheckpointSettings {
  /** Whether checkpoints are taken at all (`checkpoints`). */
  enabled: boolean;
  /** What opening a notebook with a checkpoint does (`restore`). */
  restore: 'ask' | 'auto' | 'off';
  /** The largest state file checkpointed, in bytes (`maxCheckpointMB`). */
  maxBytes: number | null;
  /** How long the kernel must have been idle after a cell (`checkpointDelayMs`). */
  delayMs: number;
}

/**
 * The settings from the plugin's `litePluginSettings`; a wrong value is named
 * in the browser console and its default kept.
 *
 * @param raw The object from jupyter-lite.json.
 */
export function readCheckpointSettings(raw: Record<string, any>): ICheckpointSettings {
  const settings: ICheckpointSettings = {
    enabled: true,
    restore: 'ask',
    maxBytes: 200 * Private.MiB,
    delayMs: 1500,
  };
  const wrong = (name: string) =>
    console.warn(
      `[jupyterlite-stream] jupyterlite-stream:state: ${name} = ${JSON.stringify(raw[name])} ` +
        'is not valid; the default is used.',
    );
  if ('checkpoints' in raw) {
    if (typeof raw.checkpoints === 'boolean') {
      settings.enabled = raw.checkpoints;
    } else {
      wrong('checkpoints');
    }
  }
  if ('restore' in raw) {
    if (['ask', 'auto', 'off'].includes(raw.restore)) {
      settings.restore = raw.restore;
    } else {
      wrong('restore');
    }
  }
  if ('maxCheckpointMB' in raw) {
    const mb = raw.maxCheckpointMB;
    if (mb === null) {
      settings.maxBytes = null;
    } else if (typeof mb === 'number' && mb >= 0) {
      settings.maxBytes = Math.round(mb * Private.MiB);
    } else {
      wrong('maxCheckpointMB');
    }
  }
  if ('checkpointDelayMs' in raw) {
    const ms = raw.checkpointDelayMs;
    if (typeof ms === 'number' && ms >= 0) {
      settings.delayMs = ms;
    } else {
      wrong('checkpointDelayMs');
    }
  }
  return settings;
}

/**
 * Takes the checkpoints of the open notebooks and restores them.
 */
export class Checkpoints {
  /**
   * @param options The settings, the store and what the dialogs need.
   */
  constructor(options: Checkpoints.IOptions) {
    this._options = options;
    this._store = new CheckpointStore(options.site);
    void this._refreshUsed();
  }

  /**
   * The bytes the checkpoints of this site take (as last read).
   */
  get used(): number {
    return this._used;
  }

  /**
   * Emitted when what `statusOf` says may have changed.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * What is saved of a notebook's state: its checkpoint (when, how large),
   * or that the state is over the cap; null when checkpoints are off or
   * `panel` is not a followed notebook.
   */
  statusOf(panel: NotebookPanel | null): Checkpoints.IStatus | null {
    const follow = panel && this._followed.get(panel);
    if (!follow || !this._options.settings.enabled) {
      return null;
    }
    return { saved: follow.saved, tooLarge: follow.tooLarge };
  }

  /**
   * Follow a notebook: offer its checkpoint when its first kernel is ready,
   * checkpoint after its cells, and offer the checkpoint when it dies.
   */
  track(panel: NotebookPanel): void {
    const follow = new Private.Followed(panel);
    this._followed.set(panel, follow);
    const onKernel = () => void this._onKernel(follow);
    panel.sessionContext.kernelChanged.connect(onKernel);
    panel.disposed.connect(() => {
      panel.sessionContext.kernelChanged.disconnect(onKernel);
      window.clearTimeout(follow.timer);
      this._followed.delete(panel);
    });
    void panel.sessionContext.ready.then(onKernel);
  }

  /**
   * Ask whether to restore the checkpoint of the notebook in front, and do.
   */
  async restoreCurrent(): Promise<void> {
    const { trans } = this._options;
    const panel = this._options.currentPanel();
    const follow = panel && this._followed.get(panel);
    const kernel = follow && (await this._kernelOf(follow));
    if (!follow || !kernel) {
      await showErrorMessage(
        trans.__('No checkpoint to restore'),
        trans.__('Open a notebook running the Python (Pyodide) kernel first.'),
      );
      return;
    }
    const info = await this._info(follow);
    if (info === undefined) {
      return;
    }
    if (info === null) {
      await showErrorMessage(
        trans.__('No checkpoint to restore'),
        trans.__(
          'This notebook has no checkpoint yet: one is taken after a cell that changes the kernel’s state.',
        ),
      );
      return;
    }
    if ((await this._ask(info, false)) === 'restore') {
      await this._restore(follow, kernel, info);
    }
  }

  /**
   * Delete every checkpoint of this site, after the user confirms.
   */
  async deleteAll(): Promise<void> {
    const { trans } = this._options;
    const result = await showDialog({
      title: trans.__('Delete all checkpoints?'),
      body: trans.__(
        'The kernel states saved automatically for the notebooks of this site (%1) are deleted. Your notebooks and files are not affected.',
        Private.size(this._used),
      ),
      buttons: [
        Dialog.cancelButton(),
        Dialog.warnButton({ label: trans.__('Delete') }),
      ],
    });
    if (!result.button.accept) {
      return;
    }
    await this._store.delete();
    for (const follow of this._followed.values()) {
      follow.fingerprint = null;
      follow.saved = null;
    }
    await this._refreshUsed();
    Notification.success(trans.__('Checkpoints deleted.'), { autoClose: 3000 });
  }

  private async _onKernel(follow: Private.Followed): Promise<void> {
    const kernel = await this._kernelOf(follow);
    if (!kernel || follow.kernel === kernel) {
      return;
    }
    follow.kernel = kernel;
    follow.fingerprint = null;
    follow.ran = false;
    kernel.executed.connect((_, status) => {
      follow.ran = true;
      this._schedule(follow, kernel, status);
    });
    kernel.died.connect((_, reason) => void this._onDied(follow, reason));
    await kernel.ready;
    const restoring = follow.restoreOnStart;
    follow.restoreOnStart = null;
    if (restoring) {
      await this._restore(follow, kernel, restoring);
    } else if (!follow.offered) {
      follow.offered = true;
      await this._offer(follow, kernel);
    }
    if (!follow.fingerprint) {
      await this._baseline(follow, kernel);
    }
  }

  /**
   * On the notebook's first kernel: restore its checkpoint as the settings say.
   */
  private async _offer(follow: Private.Followed, kernel: IStreamKernel): Promise<void> {
    const { settings } = this._options;
    if (settings.restore === 'off') {
      return;
    }
    const info = await this._info(follow);
    if (!info || Private.dontAsk().includes(info.key)) {
      return;
    }
    const choice =
      settings.restore === 'auto' ? 'restore' : await this._ask(info, true);
    if (choice === 'restore') {
      await this._restore(follow, kernel, info);
      return;
    }
    if (choice === 'never') {
      Private.setDontAsk(info.key);
    }
  }

  /**
   * The fresh kernel's fingerprint, unless a cell ran already: a cell that
   * only reads writes no checkpoint, and the stored one (of a session the
   * student chose not to restore) stays until a cell changes the new one.
   */
  private async _baseline(
    follow: Private.Followed,
    kernel: IStreamKernel,
  ): Promise<void> {
    try {
      const fingerprint = await kernel.fingerprint();
      if (
        fingerprint &&
        follow.kernel === kernel &&
        !follow.fingerprint &&
        !follow.ran
      ) {
        follow.fingerprint = fingerprint;
      }
    } catch {
      // the next cell's checkpoint is written as it would have been
    }
  }

  /**
   * The notebook's checkpoint; undefined (after telling the user, and
   * deleting it) when the stored record is broken.
   */
  private async _info(
    follow: Private.Followed,
  ): Promise<ICheckpointInfo | null | undefined> {
    try {
      const info = await this._store.info(follow.path);
      this._setSaved(follow, info);
      return info;
    } catch (error) {
      await this._broken(follow, error);
      return undefined;
    }
  }

  /**
   * "Restore the session of 10:42? 12 variables, 1 database, 2 files".
   */
  private async _ask(
    info: ICheckpointInfo,
    onOpen: boolean,
  ): Promise<'restore' | 'fresh' | 'never'> {
    const { trans } = this._options;
    const restore = Dialog.okButton({ label: trans.__('Restore') });
    const buttons = [Dialog.cancelButton({ label: trans.__('Start fresh') }), restore];
    if (onOpen) {
      buttons.unshift(
        Dialog.createButton({
          label: trans.__('Don’t ask again for this notebook'),
          displayType: 'default',
          accept: false,
          actions: ['never'],
        }),
      );
    }
    const result = await showDialog({
      title: trans.__('Restore the session of %1?', Private.when(info.created)),
      body: Private.describe(info, trans),
      buttons,
      defaultButton: buttons.indexOf(restore),
    });
    if (result.button.actions.includes('never')) {
      return 'never';
    }
    return result.button.accept ? 'restore' : 'fresh';
  }

  private async _restore(
    follow: Private.Followed,
    kernel: IStreamKernel,
    info: ICheckpointInfo,
  ): Promise<void> {
    const { trans } = this._options;
    let report: any;
    try {
      const data = await this._store.data(info);
      report = await kernel.restoreState(data, false, signingKey());
    } catch (error) {
      await this._broken(follow, error);
      return;
    }
    follow.fingerprint = info.fingerprint;
    const skipped = (report.skipped ?? []) as { name: string; reason: string }[];
    console.info(
      `[jupyterlite-stream] checkpoint of ${follow.path} restored: ` +
        `${report.restored?.length ?? 0} variables, ${report.files?.length ?? 0} files`,
    );
    Notification.success(
      trans.__(
        'Session of %1 restored: %2 variables, %3 files.',
        Private.when(info.created),
        report.restored?.length ?? 0,
        report.files?.length ?? 0,
      ) +
        (skipped.length
          ? ' ' + trans.__('Not restored: %1.', skipped.map((s) => s.name).join(', '))
          : ''),
      { autoClose: 5000 },
    );
  }

  /**
   * A checkpoint that cannot be read: say so, drop it (it can never be
   * restored), and go on with the fresh kernel.
   */
  private async _broken(follow: Private.Followed, error: unknown): Promise<void> {
    const { trans } = this._options;
    const reason = Private.reason(error);
    console.warn(
      `[jupyterlite-stream] the checkpoint of ${follow.path} is broken: ${reason}`,
    );
    await this._store.delete(follow.path).catch(() => undefined);
    this._setSaved(follow, null);
    await this._refreshUsed();
    await showErrorMessage(
      trans.__('The checkpoint cannot be restored'),
      trans.__(
        'The saved session of this notebook is damaged (%1). The kernel starts fresh; your notebook and files are unchanged.',
        reason,
      ),
    );
  }

  private async _onDied(follow: Private.Followed, reason: string): Promise<void> {
    const { trans } = this._options;
    window.clearTimeout(follow.timer);
    const info = await this._info(follow);
    const buttons = [Dialog.cancelButton({ label: trans.__('Close') })];
    const restart = Dialog.okButton({ label: trans.__('Restart the kernel') });
    const restore = Dialog.okButton({
      label: trans.__('Restart and restore'),
      actions: ['restore'],
    });
    buttons.push(info ? restore : restart);
    const result = await showDialog({
      title: trans.__('The kernel died'),
      body: info
        ? trans.__(
            'Python stopped (%1). Your notebook is safe. Restart the kernel and restore the session of %2 (%3)?',
            Private.lastLine(reason),
            Private.when(info.created),
            Private.counts(info, trans),
          )
        : trans.__(
            'Python stopped (%1). Your notebook is safe; the kernel’s variables are lost (no checkpoint yet).',
            Private.lastLine(reason),
          ),
      buttons,
      defaultButton: buttons.length - 1,
    });
    if (!result.button.accept) {
      return;
    }
    follow.restoreOnStart =
      result.button.actions.includes('restore') && info ? info : null;
    await follow.panel.sessionContext.restartKernel();
  }

  /**
   * After a cell: a checkpoint once the kernel has been idle a moment.
   */
  private _schedule(
    follow: Private.Followed,
    kernel: IStreamKernel,
    status: string,
  ): void {
    if (!this._options.settings.enabled || kernel.isDead) {
      return;
    }
    window.clearTimeout(follow.timer);
    follow.timer = window.setTimeout(
      () => void this._checkpoint(follow, kernel),
      this._options.settings.delayMs,
    );
    void status;
  }

  private async _checkpoint(
    follow: Private.Followed,
    kernel: IStreamKernel,
  ): Promise<void> {
    if (follow.kernel !== kernel || kernel.isDead || kernel.isDisposed) {
      return;
    }
    const { settings } = this._options;
    const t0 = performance.now();
    console.info(`[jupyterlite-stream] checkpoint of ${follow.path} started`);
    let result: ICheckpointResult | null;
    try {
      result = await kernel.checkpoint({
        signingKey: signingKey(),
        previous: follow.fingerprint,
        maxBytes: settings.maxBytes,
      });
    } catch (error) {
      console.warn('[jupyterlite-stream] checkpoint failed:', error);
      return;
    }
    if (!result) {
      return; // busy: the next cell schedules another
    }
    const ms = Math.round(performance.now() - t0);
    const summary = Private.parse(result.summary);
    switch (result.status) {
      case 'written':
        await this._save(follow, result, summary, ms);
        break;
      case 'too-large':
        follow.tooLarge = true;
        this._changed.emit();
        console.info(
          `[jupyterlite-stream] checkpoint of ${follow.path} skipped: ${summary.size} bytes, over the cap`,
        );
        this._tellOnce(follow, 'too-large', () =>
          Notification.warning(
            this._options.trans.__(
              'This state (%1) is over the checkpoint limit (%2): it is not saved automatically. Use Export Kernel State to keep it.',
              Private.size(summary.size ?? 0),
              Private.size(settings.maxBytes ?? 0),
            ),
            { autoClose: false },
          ),
        );
        break;
      case 'unchanged':
        console.info(
          `[jupyterlite-stream] checkpoint of ${follow.path} skipped: nothing changed`,
        );
        break;
      case 'cancelled':
        console.info(
          `[jupyterlite-stream] checkpoint of ${follow.path} cut short by a cell`,
        );
        break;
    }
  }

  private async _save(
    follow: Private.Followed,
    result: ICheckpointResult,
    summary: any,
    ms: number,
  ): Promise<void> {
    const { trans } = this._options;
    const t0 = performance.now();
    const created = Date.now();
    try {
      await this._store.save(follow.path, result.data!, {
        created,
        variables: summary.variables ?? 0,
        databases: summary.databases ?? 0,
        files: summary.files ?? 0,
        fingerprint: result.fingerprint,
      });
    } catch (error) {
      console.warn(
        `[jupyterlite-stream] checkpoint of ${follow.path} not stored:`,
        error,
      );
      this._tellOnce(follow, 'storage', () =>
        Notification.warning(
          trans.__(
            'Browser storage is full: the latest state was not saved (the last checkpoint is kept). Use Export Kernel State to keep it.',
          ),
          { autoClose: false },
        ),
      );
      return;
    }
    follow.fingerprint = result.fingerprint;
    follow.tooLarge = false;
    follow.saved = { created, size: result.data!.byteLength };
    const stored = Math.round(performance.now() - t0);
    console.info(
      `[jupyterlite-stream] checkpoint of ${follow.path} written: ` +
        `${result.data!.byteLength} bytes, made in ${ms} ms, stored in ${stored} ms`,
    );
    if (!this._persistAsked) {
      // the browser may otherwise evict the site's storage when disk runs low
      this._persistAsked = true;
      void navigator.storage?.persist?.().catch(() => false);
    }
    await this._refreshUsed();
  }

  /**
   * Tell the user something once per notebook and page.
   */
  private _tellOnce(follow: Private.Followed, what: string, tell: () => void): void {
    if (!follow.told.has(what)) {
      follow.told.add(what);
      tell();
    }
  }

  private async _kernelOf(follow: Private.Followed): Promise<IStreamKernel | null> {
    const id = follow.panel.sessionContext.session?.kernel?.id;
    const kernel = id ? await this._options.kernelClient.getModel(id) : undefined;
    return IStreamKernel.isStreamKernel(kernel) ? kernel : null;
  }

  private async _refreshUsed(): Promise<void> {
    try {
      this._used = await this._store.used();
    } catch {
      // storage unavailable (some private windows): nothing is stored either
    }
    this._changed.emit();
  }

  private _setSaved(follow: Private.Followed, info: ICheckpointInfo | null): void {
    follow.saved = info ? { created: info.created, size: info.size } : null;
    this._changed.emit();
  }

  private _options: Checkpoints.IOptions;
  private _store: CheckpointStore;
  private _followed = new Map<NotebookPanel, Private.Followed>();
  private _used = 0;
  private _persistAsked = false;
  private _changed = new Signal<this, void>(this);
}

/**
 * The statics of Checkpoints.
 */
export namespace Checkpoints {
  export interface IOptions {
    settings: ICheckpointSettings;
    /** What tells this site from others on the origin (its base URL). */
    site: string;
    currentPanel: () => NotebookPanel | null;
    kernelClient: IKernelClient;
    trans: TranslationBundle;
  }

  /**
   * What is saved of one notebook (see `Checkpoints.statusOf`).
   */
  export interface IStatus {
    /** Its checkpoint in storage: when it was taken, its bytes. */
    saved: { created: number; size: number } | null;
    /** Whether its latest state was over the cap (not checkpointed). */
    tooLarge: boolean;
  }

  /**
   * The checkpoints' size for a menu label ("3.2 MB").
   */
  export function size(bytes: number): string {
    return Private.size(bytes);
  }

  /**
   * When a checkpoint was taken, as the restore dialog says it ("10:42").
   */
  export function when(created: number): string {
    return Private.when(created);
  }
}

namespace Private {
  export const MiB = 1024 * 1024;

  /**
   * What the manager keeps of one open notebook.
   */
  export class Followed {
    constructor(readonly panel: NotebookPanel) {}

    get path(): string {
      return this.panel.context.path;
    }

    get session(): ISessionContext {
      return this.panel.sessionContext;
    }

    kernel: IStreamKernel | null = null;
    /** The fingerprint of the state last checkpointed (or restored). */
    fingerprint: string | null = null;
    timer = 0;
    /** Whether the checkpoint was offered (first kernel only). */
    offered = false;
    /** A checkpoint to restore into the next kernel (after a death). */
    restoreOnStart: ICheckpointInfo | null = null;
    told = new Set<string>();
    /** Whether a cell ran in its kernel (since the kernel started). */
    ran = false;
    /** Its checkpoint in storage, as last known. */
    saved: { created: number; size: number } | null = null;
    /** Whether its latest state was over the cap. */
    tooLarge = false;
  }

  const DONT_ASK = 'jupyterlite-stream:checkpoint-dont-ask';

  /**
   * The notebooks whose checkpoint is not offered on opening.
   */
  export function dontAsk(): string[] {
    try {
      const list = JSON.parse(localStorage.getItem(DONT_ASK) ?? '[]');
      return Array.isArray(list) ? list.filter((k) => typeof k === 'string') : [];
    } catch {
      return []; // written by someone else: start over
    }
  }

  export function setDontAsk(key: string): void {
    localStorage.setItem(DONT_ASK, JSON.stringify([...dontAsk(), key]));
  }

  export function when(created: number): string {
    const date = new Date(created);
    const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    return date.toDateString() === new Date().toDateString()
      ? time
      : `${date.toLocaleDateString()} ${time}`;
  }

  export function counts(info: ICheckpointInfo, trans: TranslationBundle): string {
    return [
      trans._n('%1 variable', '%1 variables', info.variables),
      trans._n('%1 database', '%1 databases', info.databases),
      trans._n('%1 file', '%1 files', info.files),
    ].join(', ');
  }

  export function describe(info: ICheckpointInfo, trans: TranslationBundle): string {
    return `${counts(info, trans)} (${size(info.size)})`;
  }

  export function size(bytes: number): string {
    if (bytes < 1024 * 1024) {
      return `${Math.max(1, Math.round(bytes / 1024))} KB`;
    }
    return `${(bytes / MiB).toFixed(1)} MB`;
  }

  export function parse(text: string): any {
    try {
      return JSON.parse(text) ?? {};
    } catch {
      return {};
    }
  }

  export function lastLine(text: string): string {
    const lines = String(text).trim().split('\n');
    return lines[lines.length - 1];
  }

  export function reason(error: unknown): string {
    if (error instanceof DOMException) {
      return error.name === 'QuotaExceededError'
        ? 'no space left in the browser’s storage'
        : `${error.name}: ${error.message}`;
    }
    return lastLine(error instanceof Error ? error.message : String(error));
  }
}
