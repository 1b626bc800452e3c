package graphsim

// Names for generated users: varied enough that a screenful of notifications reads
// like a real tenant, including names with apostrophes and non-ASCII letters.
var givenNames = []string{
	"Adele", "Alex", "Allan", "Ana", "Ben", "Chiara", "Christie", "Debra", "Diego", "Emily",
	"Enrico", "Fatima", "Grady", "Henrietta", "Irvin", "Isaiah", "Johanna", "Joni", "Kenji",
	"Lee", "Lidia", "Lynne", "Megan", "Miriam", "Nestor", "Noor", "Patti", "Pradeep", "Raúl",
	"Siobhán", "Sofia", "Tomasz", "Wei", "Zoë",
}

var surnames = []string{
	"Adams", "Archer", "Braun", "Cho", "Cole", "D'Souza", "Fernández", "Gates", "Holloway",
	"Johnson", "Kowalski", "Lindqvist", "Martins", "Mbeki", "Nakamura", "Novak", "O'Brien",
	"Patel", "Rossi", "Sanders", "Schmidt", "Shah", "Vance", "Wilber", "Yamada", "Zhang",
}

var jobTitles = []string{
	"Account Executive", "Data Analyst", "Finance Manager", "HR Generalist", "IT Support Engineer",
	"Marketing Specialist", "Product Manager", "Sales Associate", "Software Engineer", "Paralegal",
}
