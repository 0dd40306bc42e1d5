/** Local-file ends of the part pipeline, so `secure-transcode encrypt` runs the same cipher path as the Lambda step. */
import type { FileHandle } from 'node:fs/promises';
import type { PartSink } from '../../lib/s3/multipart.js';
import type { RangeSource } from '../../lib/s3/ranged-reader.js';

export class FileRangeSource implements RangeSource {
  constructor(
    private readonly file: FileHandle,
    readonly size: number,
  ) {}

  async readInto(offset: number, length: number, target: Buffer): Promise<void> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.file.read(target, done, length - done, offset + done);
      if (bytesRead === 0)
        throw new Error(`file ended at ${offset + done}, expected ${offset + length} bytes`);
      done += bytesRead;
    }
  }
}

/** Parts land at their ciphertext offset: every part but the last is exactly `partSize` bytes. */
export class FilePartSink implements PartSink {
  constructor(
    private readonly file: FileHandle,
    private readonly partSize: number,
  ) {}

  async submit(partNumber: number, data: Buffer, release: () => void): Promise<void> {
    try {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await this.file.write(
          data,
          done,
          data.length - done,
          (partNumber - 1) * this.partSize + done,
        );
        done += bytesWritten;
      }
    } finally {
      release();
    }
  }

  async drain(): Promise<void> {}
}
