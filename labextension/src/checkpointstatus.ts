/**
 * The status-bar item of automatic checkpoints: what is saved of the
 * notebook in front ("Saved 10:42 · 1.2 MB") or why nothing is ("Checkpoint
 * too large: use Export"). Clicking it offers to restore that checkpoint.
 */
import type { INotebookTracker } from '@jupyterlab/notebook';
import { TextItem } from '@jupyterlab/statusbar';
import type { TranslationBundle } from '@jupyterlab/translation';
import { VDomModel, VDomRenderer } from '@jupyterlab/ui-components';
import React from 'react';

import { Checkpoints } from './checkpoint';

/**
 * The item; shown only while a notebook is in front (see `isActive`).
 */
export class CheckpointStatus extends VDomRenderer<CheckpointStatus.Model> {
  /**
   * @param options The checkpoints, the notebooks, the restore action.
   */
  constructor(options: CheckpointStatus.IOptions) {
    super(new CheckpointStatus.Model(options));
    this.addClass('jp-mod-highlighted');
    this.addClass('jp-stream-CheckpointStatus');
    this._onClick = options.onClick;
    this.node.addEventListener('click', this._onClick);
  }

  /**
   * Whether the item has something to say for the notebook in front.
   */
  get isActive(): boolean {
    return !!this.model.text;
  }

  render(): React.ReactElement {
    this.node.title = this.model.title;
    return React.createElement(TextItem, { source: this.model.text });
  }

  dispose(): void {
    this.node.removeEventListener('click', this._onClick);
    this.model.dispose();
    super.dispose();
  }

  private _onClick: () => void;
}

/**
 * The statics of CheckpointStatus.
 */
export namespace CheckpointStatus {
  export interface IOptions {
    checkpoints: Checkpoints;
    tracker: INotebookTracker;
    trans: TranslationBundle;
    /** What a click does (offer to restore the checkpoint). */
    onClick: () => void;
  }

  /**
   * The text of the notebook in front, kept up to date.
   */
  export class Model extends VDomModel {
    constructor(options: IOptions) {
      super();
      this._options = options;
      options.checkpoints.changed.connect(this._update, this);
      options.tracker.currentChanged.connect(this._update, this);
      this._update();
    }

    /** What the status bar shows ('' when nothing). */
    text = '';
    /** Its tooltip. */
    title = '';

    dispose(): void {
      this._options.checkpoints.changed.disconnect(this._update, this);
      this._options.tracker.currentChanged.disconnect(this._update, this);
      super.dispose();
    }

    private _update(): void {
      const { checkpoints, tracker, trans } = this._options;
      const status = checkpoints.statusOf(tracker.currentWidget);
      let text = '';
      let title = '';
      if (status?.tooLarge) {
        text = trans.__('Checkpoint too large: use Export');
        title = trans.__(
          'This state is over the checkpoint limit: it is not saved automatically. Kernel → Export Kernel State keeps it.',
        );
      } else if (status?.saved) {
        const { created, size } = status.saved;
        text = trans.__(
          'Saved %1 · %2',
          Checkpoints.when(created),
          Checkpoints.size(size),
        );
        title = trans.__(
          'The kernel state of this notebook was saved in this browser at %1 (%2; all checkpoints of this site: %3). Click to restore it.',
          Checkpoints.when(created),
          Checkpoints.size(size),
          Checkpoints.size(checkpoints.used),
        );
      }
      if (text !== this.text || title !== this.title) {
        this.text = text;
        this.title = title;
        this.stateChanged.emit();
      }
    }

    private _options: IOptions;
  }
}
