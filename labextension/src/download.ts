/**
 * Handing a zip the page made (a state file, the student's work) to the
 * browser's downloads.
 */
export function downloadZip(data: Uint8Array, name: string): void {
  const url = URL.createObjectURL(
    new Blob([data as BlobPart], { type: 'application/zip' }),
  );
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  // revoked later: the click is handled after this task ends
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
