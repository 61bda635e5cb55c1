package dev.strata.pageserver.layer;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.KeyRange;

/**
 * One layer of a timeline as the {@link LayerMap} sees it: it covers a key range and an LSN
 * range and can contribute a key's versions to a reconstruction, newest first.
 */
public sealed interface Layer permits InMemoryLayer, DeltaLayer, ImageLayer {

    KeyRange keyRange();

    /** Start LSN (inclusive), as a raw unsigned value. */
    long lsnStart();

    /** End LSN (exclusive), as a raw unsigned value; -1 (the largest unsigned) for the open layer. */
    long lsnEnd();

    /**
     * Adds the versions of {@code key} with LSN in [floor, ceiling) to {@code state}, newest
     * first, stopping at an image or a will-init record; returns true if the state is now
     * complete (nothing older is needed).
     */
    boolean collect(Key key, long floor, long ceiling, ReconstructState state);
}
