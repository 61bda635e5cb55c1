package dev.strata.safekeeper.offload;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.remote.EmbeddedS3;
import dev.strata.remote.RetryingRemoteStorage;
import dev.strata.remote.S3RemoteStorage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/**
 * WAL offload throughput against the embedded S3 (S3Proxy, filesystem store, loopback): the
 * offloader's data path, one thread as in {@link WalOffloader}. Upload = read a 16 MiB segment
 * file from disk, CRC-32C, PUT with the checksum; download = LIST the segment's key, GET,
 * verify size and CRC-32C ({@link RemoteWal#read}), no cache. Not a test: run by
 * {@code bench/safekeeper-offload.sh [SEGMENTS=32]}.
 */
public final class OffloadBench {

    private static final int SEGMENT = 16 << 20;

    private OffloadBench() {
    }

    public static void main(String[] args) throws Exception {
        int segments = args.length > 0 ? Integer.parseInt(args[0]) : 32;
        Path dir = Files.createTempDirectory("sk-offload-bench");
        TimelineId tl = TimelineId.random();
        try (EmbeddedS3 s3 = EmbeddedS3.start(dir.resolve("s3"))) {
            Path wal = Files.createDirectories(dir.resolve("wal"));
            Random r = new Random(13);
            byte[] seg = new byte[SEGMENT];
            String[] names = new String[segments];
            for (int i = 0; i < segments; i++) {
                r.nextBytes(seg);
                names[i] = Lsn.ofSegment(i + 1, SEGMENT).walFileName(1, SEGMENT);
                Files.write(wal.resolve(names[i]), seg);
            }
            double mb = segments * (double) SEGMENT / 1e6;
            try (RemoteWal up = new RemoteWal(new RetryingRemoteStorage(new S3RemoteStorage(s3.config()),
                    RetryingRemoteStorage.Policy.DEFAULTS))) {
                up.upload(TimelineId.random(), "000000010000000000000000", new byte[SEGMENT]); // warm-up
                long t0 = System.nanoTime();
                for (String name : names) {
                    up.upload(tl, name, Files.readAllBytes(wal.resolve(name)));
                }
                double s = (System.nanoTime() - t0) / 1e9;
                System.out.printf("upload:   %d segments of 16 MiB, %.0f MB in %.2f s = %.1f MB/s (1 PUT per segment: 64 PUTs per GiB of WAL)%n",
                        segments, mb, s, mb / s);
            }
            try (RemoteWal down = new RemoteWal(new RetryingRemoteStorage(new S3RemoteStorage(s3.config()),
                    RetryingRemoteStorage.Policy.DEFAULTS))) {
                long t0 = System.nanoTime();
                for (int i = 0; i < segments; i++) {
                    byte[] got = down.read(tl, names[i], SEGMENT);
                    if (i == segments - 1 && !Arrays.equals(got, Files.readAllBytes(wal.resolve(names[i])))) {
                        throw new AssertionError("downloaded segment differs from the uploaded one");
                    }
                }
                double s = (System.nanoTime() - t0) / 1e9;
                System.out.printf("download: %d segments, %.0f MB in %.2f s = %.1f MB/s (LIST + GET + CRC-32C check per segment)%n",
                        segments, mb, s, mb / s);
            }
        } finally {
            dev.strata.pgcore.fs.FileTrees.deleteRecursively(dir);
        }
    }
}
