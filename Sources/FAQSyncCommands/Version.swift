/// faqsync's version: `faqsync --version`, and the Debian package's (scripts/build-deb.sh reads it here).
public enum FAQSyncVersion {
    public static let current = "0.8.0"
}
