import Dispatch

/// Drops `value` on a background thread. Freeing the last sheet's 100,000 templates, or a
/// dictionary of the store's 100,000 states, takes tens of milliseconds of a sync that is done
/// with them; the sync need not wait for it. Pass the last reference (`consume`), or the value
/// is freed wherever the other one goes.
package func releaseLater<Value: Sendable>(_ value: consuming Value) {
    let value = value
    DispatchQueue.global(qos: .utility).async { withExtendedLifetime(value) {} }
}
