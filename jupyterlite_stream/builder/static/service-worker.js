/*
 * jupyterlite-stream's service worker: JupyterLite's own worker (relaying
 * /api/drive and /api/stdin for the kernel) plus cross-origin isolation for
 * hosts that cannot send headers, such as GitHub Pages.
 *
 * SharedArrayBuffer, and with it real interrupts, needs every page response to
 * carry Cross-Origin-Opener-Policy and Cross-Origin-Embedder-Policy. This
 * worker adds them to the site's own responses. It must be the site's only
 * service worker (JupyterLite unregisters any other), so it loads JupyterLite's
 * worker beside itself: its install/activate/relay handlers stay as they are.
 */
'use strict';

/** The requests JupyterLite's worker answers itself. */
function isJupyterLiteApi(url) {
  return (
    url.origin === self.location.origin &&
    (url.pathname.includes('/api/drive') ||
      url.pathname.includes('/api/stdin/') ||
      url.pathname === '/api/service-worker-heartbeat')
  );
}

/**
 * `credentialless` keeps cross-origin images (in Markdown cells) and the CDN
 * fallback for compiled packages working; Safari only knows `require-corp`.
 */
function embedderPolicy() {
  const ua = self.navigator.userAgent;
  const safari = /Safari\//.test(ua) && !/(Chrome|Chromium|Edg)\//.test(ua);
  return safari ? 'require-corp' : 'credentialless';
}

async function withIsolationHeaders(request) {
  const response = await fetch(request);
  // opaque and error responses cannot be changed (and need not be)
  if (response.status === 0 || response.type === 'opaque') {
    return response;
  }
  const headers = new Headers(response.headers);
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Embedder-Policy', embedderPolicy());
  headers.set('Cross-Origin-Resource-Policy', 'same-origin');
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

// registered before JupyterLite's handler, so it runs first
self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  const { method } = event.request;
  if (
    url.origin !== self.location.origin ||
    isJupyterLiteApi(url) ||
    (method !== 'GET' && method !== 'HEAD')
  ) {
    return; // JupyterLite's handler (or the network) answers
  }
  event.respondWith(withIsolationHeaders(event.request));
  event.stopImmediatePropagation();
});

importScripts('./service-worker-jupyterlite.js');
