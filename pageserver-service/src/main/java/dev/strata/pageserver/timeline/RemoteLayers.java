package dev.strata.pageserver.timeline;

import dev.strata.pageserver.layer.LayerFileHandle;
import dev.strata.pageserver.layer.LayerName;

/** Where in object storage a timeline's layers are, for layers that are not on local disk. */
@FunctionalInterface
interface RemoteLayers {

    /** How to download {@code name}, or null if object storage does not hold it. */
    LayerFileHandle.Download find(LayerName name);
}
