/**
 * Hand in: one zip with every file the student created or changed, and a
 * small manifest saying which is which, named after the site and the day.
 */
import { PageConfig } from '@jupyterlab/coreutils';
import { strToU8, zipSync } from 'fflate';
import type { Zippable } from 'fflate';

import type { Origin, Originals } from './origins';

/**
 * What the zip's manifest.json says (format 1).
 */
export interface IWorkManifest {
  format: 'jupyterlite-stream-work';
  format_version: 1;
  site: string;
  site_url: string;
  created: string;
  files: {
    path: string;
    status: Origin | 'kernel-state';
    size: number;
    teacher_hash: string | null;
  }[];
}

/**
 * The kernel state file of an open notebook (jupyterlite_stream's export).
 */
export interface IKernelStateFile {
  notebook: string;
  data: Uint8Array;
}

/**
 * Where the kernel state files go in the zip.
 */
export const KERNEL_STATE_FOLDER = 'kernel-state';

/**
 * The zip of the student's work; `null` when there is nothing to hand in.
 */
export async function packWork(
  originals: Originals,
  states: IKernelStateFile[] = [],
  now = new Date(),
): Promise<{ name: string; data: Uint8Array; manifest: IWorkManifest } | null> {
  const work = await originals.work();
  if (!work.length && !states.length) {
    return null;
  }
  const site = Private.siteName();
  const manifest: IWorkManifest = {
    format: 'jupyterlite-stream-work',
    format_version: 1,
    site,
    site_url: new URL(PageConfig.getBaseUrl(), window.location.href).href,
    created: now.toISOString(),
    files: [],
  };
  const entries: Zippable = {};
  for (const { path, origin } of work) {
    const bytes = await originals.bytes(path);
    entries[path] = bytes;
    const teacherHash = origin === 'changed' ? await originals.teacherHash(path) : '';
    manifest.files.push({
      path,
      status: origin,
      size: bytes.length,
      teacher_hash: teacherHash || null,
    });
  }
  for (const { notebook, data } of states) {
    const stem = notebook.replace(/\.ipynb$/, '');
    const path = `${KERNEL_STATE_FOLDER}/${stem}-state.zip`;
    entries[path] = data;
    manifest.files.push({
      path,
      status: 'kernel-state',
      size: data.length,
      teacher_hash: null,
    });
  }
  entries['manifest.json'] = strToU8(JSON.stringify(manifest, null, 2) + '\n');
  return {
    name: `${Private.fileStem(site)}-${Private.day(now)}.zip`,
    data: zipSync(entries, { level: 6, mtime: now }),
    manifest,
  };
}

namespace Private {
  export function siteName(): string {
    return PageConfig.getOption('appName') || 'JupyterLite';
  }

  /**
   * A file name from the site's name: characters file systems refuse and
   * spaces become dashes.
   */
  export function fileStem(site: string): string {
    const stem = site
      .replace(/[\\/:*?"<>|\s]+/g, '-')
      .replace(/^[-.]+|-+$/g, '')
      .slice(0, 80);
    return stem || 'my-work';
  }

  /**
   * The student's own date (YYYY-MM-DD in local time).
   */
  export function day(now: Date): string {
    const pad = (n: number) => String(n).padStart(2, '0');
    return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
  }
}
