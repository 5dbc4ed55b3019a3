import FAQSyncCommands

await FAQSyncMain.run()
