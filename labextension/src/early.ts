/**
 * The early start: the site's build inlines this script into the pages that
 * start a kernel (lab, notebooks, repl, consoles), so that the first
 * kernel's worker boots Pyodide while JupyterLab's bundles still load, about
 * a second before the kernel plugin could start it. The plugin adopts the
 * worker (`StreamKernel.adoptEarly`) when it was asked to boot with the same
 * options, and else ends it and starts its own.
 *
 * The worker must start under the service worker's control (its drive and
 * input() requests go through it). On a first visit this script registers
 * the service worker itself, as JupyterLite would a second later, and starts
 * the kernel's worker (or makes the one isolation reload) once it controls
 * the page.
 *
 * Built on its own (`build:early`): it must not import JupyterLab.
 */
import { Boot } from './boot';
import { InterruptSignal } from './interrupt';
import { IsolationGuard } from './isolation';

namespace Private {
  /**
   * Begin once JupyterLite's config-utils has written the page's merged
   * configuration (every jupyter-lite.json) into the config script.
   */
  export function watchConfig(script: HTMLScriptElement | null): void {
    const workerPath = script?.dataset.worker;
    const config = document.getElementById('jupyter-config-data');
    if (!workerPath || !config || !navigator.serviceWorker) {
      return;
    }
    const url = new URL(workerPath, window.location.href).href;
    const observer = new MutationObserver(() => {
      observer.disconnect();
      guarded(() => begin(url, JSON.parse(config.textContent ?? '{}')));
    });
    observer.observe(config, { childList: true, characterData: true, subtree: true });
  }

  function begin(url: string, config: Record<string, any>): void {
    const plugins = config.litePluginSettings ?? {};
    const baseUrl = new URL(config.baseUrl || '/', window.location.href).href;
    const { serviceWorker } = navigator;
    if (serviceWorker.controller) {
      start(url, plugins, baseUrl);
      return;
    }
    if (!registersServiceWorker(config)) {
      return;
    }
    // listening first: the worker may take control before register() settles
    const registered = register(config, baseUrl);
    serviceWorker.addEventListener(
      'controllerchange',
      () =>
        void registered.then(
          (ours) => ours && guarded(() => controlled(url, plugins, baseUrl)),
        ),
      { once: true },
    );
  }

  /**
   * Register the service worker on a first visit, as JupyterLite's
   * ServiceWorkerManager would (same URL: it then finds this registration).
   *
   * @returns whether this page registered it.
   */
  async function register(
    config: Record<string, any>,
    baseUrl: string,
  ): Promise<boolean> {
    const { serviceWorker } = navigator;
    const script = new URL('service-worker.js', baseUrl);
    script.searchParams.set('enableCache', config.enableServiceWorkerCache || 'false');
    try {
      // one registered already (a hard reload bypasses it): JupyterLite
      // checks its version as usual
      if (await serviceWorker.getRegistration(script.href)) {
        return false;
      }
      // the version JupyterLite records for the worker it registers; without
      // it, it would unregister this one at once as if from an older site
      window.localStorage.setItem(`${script.href}-version`, config.appVersion ?? '');
      await serviceWorker.register(script.href);
    } catch {
      // JupyterLite tries again and reports the failure
      return false;
    }
    return true;
  }

  /**
   * The service worker controls the page now (a first visit).
   */
  function controlled(
    url: string,
    plugins: Record<string, any>,
    baseUrl: string,
  ): void {
    if (Boot.earlyStartClosed()) {
      return; // the kernel plugin (and the isolation guard) took over
    }
    if (globalThis.crossOriginIsolated || !Boot.isolationByServiceWorker(plugins)) {
      start(url, plugins, baseUrl);
      return;
    }
    // the one reload that isolates the page, made now rather than once
    // JupyterLab has loaded (see IsolationGuard, which shares its flag)
    const storage = window.sessionStorage;
    if (!storage.getItem(IsolationGuard.RELOAD_FLAG)) {
      storage.setItem(IsolationGuard.RELOAD_FLAG, String(Date.now()));
      window.location.reload();
    }
  }

  /**
   * Whether JupyterLite will run its service worker on this page.
   */
  function registersServiceWorker(config: Record<string, any>): boolean {
    const disabled: string[] = config.disabledExtensions ?? [];
    const [extension] = SERVICE_WORKER_PLUGIN.split(':');
    return !disabled.some((id) => id === SERVICE_WORKER_PLUGIN || id === extension);
  }

  const SERVICE_WORKER_PLUGIN =
    '@jupyterlite/application-extension:service-worker-manager';

  function start(url: string, plugins: Record<string, any>, baseUrl: string): void {
    if (Boot.earlyStartClosed() || !Boot.kernelExpected(plugins)) {
      return;
    }
    const buffer = InterruptSignal.create()?.buffer ?? null;
    const options = Boot.workerOptions(
      Boot.readSettings(plugins, baseUrl),
      baseUrl,
      buffer,
    );
    const worker = new Worker(url, { type: 'module' });
    // held until the kernel takes the worker: its log lines, a failed start
    const backlog: Event[] = [];
    const hold = (event: Event) => {
      backlog.push(event);
      if (event.type === 'error') {
        early.failed = true;
      }
    };
    worker.addEventListener('message', hold);
    worker.addEventListener('error', hold);
    worker.postMessage({ [Boot.PREPARE_MESSAGE]: options });
    const early: Boot.IEarlyWorker = {
      worker,
      url,
      key: Boot.bootKey(options),
      interruptBuffer: buffer,
      startedAt: performance.now(),
      failed: false,
      takeBacklog: () => {
        worker.removeEventListener('message', hold);
        worker.removeEventListener('error', hold);
        return backlog.splice(0);
      },
    };
    Boot.leaveEarlyWorker(early);
  }

  /**
   * Whatever goes wrong here, the page starts its kernel the usual way.
   */
  export function guarded(run: () => void): void {
    try {
      run();
    } catch (error) {
      console.warn('[jupyterlite-stream] the early kernel start failed:', error);
    }
  }
}

Private.guarded(() => Private.watchConfig(document.currentScript as HTMLScriptElement));
