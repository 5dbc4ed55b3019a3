import FAQSyncCommands

FAQSyncMain.runAndExit()
