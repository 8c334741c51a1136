/**
 * One large upload or download, timed from the first byte sent to the last byte received. The
 * client sends from one reused 64 KiB buffer and discards what it reads, so what is measured is
 * the path in between (the gateway, or nothing for `direct`).
 */
import { request } from 'node:http';

const CHUNK = Buffer.alloc(64 * 1024, 'b');

export interface TransferResult {
  readonly bytes: number;
  readonly seconds: number;
  /** Megabytes (10^6 bytes) per second. */
  readonly mbPerSecond: number;
  readonly status: number;
}

export interface TransferSpec {
  /** Full URL of the upload (`…/upload`) or download (`…/download`) path. */
  readonly url: string;
  readonly direction: 'upload' | 'download';
  readonly bytes: number;
  readonly token: string | undefined;
}

function uploadedBytes(text: string): number {
  try {
    const body = JSON.parse(text) as { bytes?: unknown };
    return typeof body.bytes === 'number' ? body.bytes : -1;
  } catch {
    return -1;
  }
}

/** Runs one transfer; rejects on a socket error or a short body. */
export function transfer(spec: TransferSpec): Promise<TransferResult> {
  const url = new URL(spec.direction === 'download' ? `${spec.url}?bytes=${spec.bytes}` : spec.url);
  const headers: Record<string, string | number> = {};
  if (spec.token !== undefined) headers['authorization'] = `Bearer ${spec.token}`;
  if (spec.direction === 'upload') {
    headers['content-type'] = 'application/octet-stream';
    headers['content-length'] = spec.bytes;
  }
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: spec.direction === 'upload' ? 'PUT' : 'GET', headers, agent: false },
      (res) => {
        let received = 0;
        let text = '';
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (spec.direction === 'upload' && text.length < 1024) text += chunk.toString();
        });
        res.on('error', reject);
        res.on('end', () => {
          const seconds = (performance.now() - started) / 1000;
          // The upstream answers an upload with the byte count it read.
          const got = spec.direction === 'download' ? received : uploadedBytes(text);
          if (res.statusCode === 200 && got !== spec.bytes) {
            reject(new Error(`${spec.direction}: ${got} of ${spec.bytes} bytes arrived`));
            return;
          }
          resolve({
            bytes: spec.bytes,
            seconds,
            mbPerSecond: spec.bytes / 1e6 / seconds,
            status: res.statusCode ?? 0,
          });
        });
      },
    );
    req.on('error', reject);
    if (spec.direction === 'download') {
      req.end();
      return;
    }
    let left = spec.bytes;
    const pump = (): void => {
      while (left > 0) {
        const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
        left -= chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}
