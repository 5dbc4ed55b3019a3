/// faqsync's version: `faqsync --version`, and the Debian package's (scripts/build-deb.sh reads it here).
package enum FAQSyncVersion {
    package static let current = "0.9.0"
}
