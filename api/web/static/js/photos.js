// Photos from the phone's camera, made fit to send from underground: an image larger than
// MAX_BYTES, or of a type the API does not take (HEIC, ...), is redrawn as a JPEG of at most
// MAX_SIDE pixels on its long side. What the browser cannot decode is kept as it is.

const MAX_BYTES = 1500 * 1024;
const MAX_SIDE = 1600;
const QUALITY = 0.82;
const TAKEN = ['image/jpeg', 'image/png', 'image/webp'];

export async function prepare(file) {
  if (TAKEN.includes(file.type) && file.size <= MAX_BYTES) return { blob: file, name: file.name || 'photo.jpg' };
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', QUALITY));
    if (!blob) throw new Error('encode');
    const base = (file.name || 'photo').replace(/\.[^.]*$/, '');
    return { blob, name: `${base}.jpg` };
  } catch {
    return { blob: file, name: file.name || 'photo' };
  }
}
