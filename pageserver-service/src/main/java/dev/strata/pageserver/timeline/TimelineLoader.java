package dev.strata.pageserver.timeline;

import dev.strata.pageserver.layer.DeltaLayer;
import dev.strata.pageserver.layer.ImageLayer;
import dev.strata.pageserver.layer.LayerCache;
import dev.strata.pageserver.layer.LayerFileHandle;
import dev.strata.pageserver.layer.LayerMap;
import dev.strata.pageserver.layer.LayerName;
import dev.strata.pgcore.fs.CrashSafe;
import dev.strata.pgcore.fs.Fsync;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rebuilds a {@link LayerStore} from its directory after a restart. The metadata file is the
 * truth: listed layers must exist and verify; a layer file it does not list was written by a
 * flush or compaction that crashed before its metadata update and is removed (it may hold
 * WAL beyond the disk-consistent LSN, which ingest will replay); temp files are removed. With
 * remote storage a listed layer may be missing locally (evicted, or never downloaded after an
 * attach): it is then taken from object storage, downloaded when first read.
 */
final class TimelineLoader {

    private static final Logger LOG = LoggerFactory.getLogger(TimelineLoader.class);
    private static final String TEMP_SUFFIX = ".strata-tmp";

    private TimelineLoader() {
    }

    static LayerStore load(Path dir, StorageConfig config, Fsync fsync, LayerCache cache, RemoteLayers remote) {
        if (!Files.isDirectory(dir)) {
            throw new StorageException(StorageException.Category.MISSING, "timeline directory " + dir + " does not exist");
        }
        TimelineMetadata meta = TimelineMetadataFile.read(dir);
        Set<LayerName> listed = new HashSet<>(meta.layers());
        Set<LayerName> present = new HashSet<>();
        boolean removed = false;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                LayerName layer = LayerName.tryParse(name);
                if (name.endsWith(TEMP_SUFFIX) || name.endsWith(".download")) {
                    LOG.info("removing leftover temp file timeline={} file={}", meta.timelineId(), f);
                    Files.delete(f);
                    removed = true;
                } else if (layer != null && !listed.contains(layer)) {
                    LOG.warn("removing layer file not in metadata (interrupted flush or compaction) timeline={} file={}",
                            meta.timelineId(), f);
                    Files.delete(f);
                    removed = true;
                } else if (layer != null) {
                    present.add(layer);
                } else if (!name.equals(TimelineMetadataFile.FILE_NAME)) {
                    LOG.warn("ignoring unknown file in timeline directory timeline={} file={}", meta.timelineId(), f);
                }
            }
            if (removed) {
                CrashSafe.fsyncDirectory(fsync, dir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list timeline directory " + dir, e);
        }
        List<DeltaLayer> deltas = new ArrayList<>();
        List<ImageLayer> images = new ArrayList<>();
        try {
            for (LayerName name : meta.layers()) {
                Path path = dir.resolve(name.toString());
                if (!present.contains(name) && remote != null) {
                    // Evicted, or attached without downloading: read from object storage on demand.
                    LayerFileHandle.Download where = remote.find(name);
                    if (where != null) {
                        if (name.image()) {
                            images.add(ImageLayer.remote(path, name, meta.timelineId(), where, cache));
                        } else {
                            deltas.add(DeltaLayer.remote(path, name, meta.timelineId(), where, cache));
                        }
                        continue;
                    }
                }
                if (!present.contains(name)) {
                    throw new StorageException(StorageException.Category.MISSING, "timeline " + meta.timelineId()
                            + ": metadata lists layer " + name + ", which is missing from " + dir);
                }
                if (Long.compareUnsigned(name.lsnRange().last().value(), meta.diskConsistentLsn().value()) > 0) {
                    throw new StorageException(StorageException.Category.CORRUPT, "timeline " + meta.timelineId()
                            + ": layer " + name + " reaches beyond the disk-consistent LSN " + meta.diskConsistentLsn());
                }
                if (name.image()) {
                    images.add(ImageLayer.open(path, meta.timelineId(), cache));
                } else {
                    deltas.add(DeltaLayer.open(path, meta.timelineId(), cache));
                }
            }
        } catch (RuntimeException e) {
            deltas.forEach(DeltaLayer::close);
            images.forEach(ImageLayer::close);
            throw e;
        }
        deltas.sort((a, b) -> Long.compareUnsigned(a.lsnStart(), b.lsnStart()));
        images.sort((a, b) -> Long.compareUnsigned(a.lsnStart(), b.lsnStart()));
        LOG.info("opened timeline storage timeline={} dir={} delta_layers={} image_layers={} disk_consistent_lsn={}",
                meta.timelineId(), dir, deltas.size(), images.size(), meta.diskConsistentLsn());
        LayerStore store = new LayerStore(dir, meta.timelineId(), config, new LayerMap(null, List.of(), deltas, images),
                meta.diskConsistentLsn(), meta.prevRecordLsn(), fsync);
        store.cache(cache);
        return store;
    }
}
