import type { KernelMessage } from '@jupyterlab/services';
import { LiteKernelClient } from '@jupyterlite/services';

import { IStreamKernel } from './tokens';

/**
 * The lite kernel client, with interrupts that reach the kernel.
 *
 * JupyterLite's client only cancels queued cells on interrupt (lite kernels
 * have no `interrupt()`), so the Stop button, the Kernel menu and `I,I` never
 * reached running code (jupyterlite#459).
 */
export class StreamKernelClient extends LiteKernelClient {
  /**
   * Interrupt the running cell of a kernel of ours, then cancel the queued
   * cells as JupyterLite does.
   *
   * @param kernelId The kernel id.
   */
  async interrupt(kernelId: string): Promise<void> {
    const kernel = await this.getModel(kernelId);
    if (IStreamKernel.isStreamKernel(kernel)) {
      // not awaited: the queued cells are cancelled while the running one stops
      void kernel.interrupt();
    }
    await super.interrupt(kernelId);
  }

  /**
   * Route an `input()` request to the kernel that asked, so that the kernel
   * can also answer it when the user interrupts.
   *
   * @param request The input request relayed by the service worker.
   */
  async handleStdin(
    request: KernelMessage.IInputRequestMsg,
  ): Promise<KernelMessage.IInputReplyMsg> {
    const kernelId = (request.metadata as { kernelId?: string })?.kernelId;
    const kernel = kernelId ? await this.getModel(kernelId) : undefined;
    if (IStreamKernel.isStreamKernel(kernel)) {
      return kernel.handleStdin(request);
    }
    return super.handleStdin(request);
  }
}
