"""Users: Telegram identities, MiniApp initData, registration."""
